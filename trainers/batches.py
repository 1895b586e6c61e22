"""Seeded, rank-sharded batch order over in-memory tensors.

The order of an epoch is a pure function of (seed, epoch, rank, world): exactly the
indices torch's DistributedSampler yields with ``seed`` and ``set_epoch`` (a test
checks it), computed as one tensor instead of a Python list. With world=1 it is a plain
seeded permutation; with world=W, rank r's k-th batch of size B together with the
other ranks' k-th batches is exactly the k-th batch of size W*B of the single
process run, which is what makes DDP equal to single-process training.
Because the order depends on nothing else, a resumed run just skips batches.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DistributedSampler

# Datasets up to this size are copied to the GPU once; batches are then gathered there.
_DEVICE_RESIDENT_BYTES = 2 * 1024**3


def epoch_order(n: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> torch.Tensor:
    """This rank's sample indices for ``epoch`` (DistributedSampler, drop_last=False)."""
    gen = torch.Generator()
    gen.manual_seed(seed + epoch)
    perm = torch.randperm(n, generator=gen)
    if world == 1:
        return perm
    total = samples_per_rank(n, world) * world
    if total > n:  # pad by repeating from the start, so every rank gets as many
        perm = perm.repeat(math.ceil(total / n))[:total]
    return perm[rank:total:world]


def sampler_order(n: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[int]:
    """The same indices from torch's DistributedSampler itself (the reference in tests)."""
    sampler: DistributedSampler[int] = DistributedSampler(
        range(n),  # type: ignore[arg-type]  # only len() is used
        num_replicas=world,
        rank=rank,
        shuffle=True,
        seed=seed,
        drop_last=False,
    )
    sampler.set_epoch(epoch)
    return list(iter(sampler))


def samples_per_rank(n: int, world: int) -> int:
    """How many samples each rank sees per epoch (DistributedSampler pads to equal)."""
    return math.ceil(n / world)


def micro_batches_per_epoch(n: int, world: int, batch_size: int) -> int:
    return math.ceil(samples_per_rank(n, world) / batch_size)


def steps_per_epoch(n: int, world: int, batch_size: int, accum: int) -> int:
    return math.ceil(micro_batches_per_epoch(n, world, batch_size) / accum)


class TensorBatches:
    """Holds one split's tensors where gathering is cheapest and yields batches on device.

    With ``rows``, the split is those rows of ``x``/``y`` (positions in an epoch order
    are mapped to them once per epoch, so a batch is still one gather).
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        device: torch.device,
        rows: torch.Tensor | None = None,
    ) -> None:
        self.device = device
        self.rows = rows
        nbytes = x.element_size() * x.numel() + y.element_size() * y.numel()
        self.resident = device.type != "cuda" or nbytes <= _DEVICE_RESIDENT_BYTES
        if self.resident:
            self.x, self.y = x.to(device), y.to(device)
        else:
            self.x, self.y = x.pin_memory(), y.pin_memory()
        self.n = int(x.shape[0] if rows is None else rows.shape[0])

    def order_on_device(self, order: torch.Tensor) -> torch.Tensor:
        """The epoch's index order where the split lives; a pinned, asynchronous copy on
        CUDA, because a copy from pageable memory would stall the GPU queue every epoch."""
        if self.rows is not None:
            order = self.rows[order]
        if self.x.device.type == "cuda":
            return order.pin_memory().to(self.x.device, non_blocking=True)
        return order.to(self.x.device)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``index`` as (x, y) on the training device."""
        x, y = self.x[index], self.y[index]
        if not self.resident:
            x = x.pin_memory().to(self.device, non_blocking=True)
            y = y.pin_memory().to(self.device, non_blocking=True)
        return x, y

"""Per-rank shards of the in-memory data under DDP, with the same training as one process.

Rank r of W keeps the training rows at split positions r, r+W, r+2W, ... and the
validation rows it evaluates (the same every-W-th rows as before), so each rank holds
about 1/W of the data once loaded.

The global batches stay exactly what they were: micro-batch j of an epoch is, over all
ranks together, positions [j*W*B, (j+1)*W*B) of the epoch's (padded) permutation, as
with torch's DistributedSampler. Each rank takes the rows of that set it holds, which
are not B in number, so its loss is weighted: W * (rows it holds / rows in the set) *
its mean loss. DDP averages the ranks' gradients, so the step's gradient is the mean
over the whole set, as before (up to the order of float sums). Batch norm normalises
with the whole set's statistics (trainers/shard_norm.py), and L-BFGS's closure returns
the whole set's loss, all-reduced (trainers/step.py), so both train as one process too.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from trainers.batches import epoch_order, samples_per_rank
from trainers.data import Dataset


@dataclass(frozen=True)
class Shard:
    """This rank's share of the training split: positions ``rank::world`` of ``n``."""

    n: int  # rows in the whole training split
    rank: int
    world: int


def shard_dataset(dataset: Dataset, rank: int, world: int) -> tuple[Dataset, Shard | None]:
    """``dataset`` cut to rank ``rank``'s rows (a copy; the full tensors are let go), or
    unchanged (and no Shard) when it is not an index-split in-memory dataset. A dataset
    that ``load_dataset`` read as this rank's shard already is returned as it is."""
    if world > 1 and dataset.meta.get("loaded_shard") == (rank, world):
        return dataset, Shard(n=dataset.n_train, rank=rank, world=world)
    if world <= 1 or dataset.train_rows is None:
        return dataset, None
    shard = Shard(n=dataset.n_train, rank=rank, world=world)
    mine = dataset.train_rows[rank::world]
    val_x = val_y = None
    if dataset.val_rows is not None:
        val_rows = dataset.val_rows[rank::world]
        val_x, val_y = dataset.x_all[val_rows], dataset.y_all[val_rows]
    elif dataset.val_x is not None and dataset.val_y is not None:
        val_x, val_y = dataset.val_x[rank::world], dataset.val_y[rank::world]
    sharded = dataclasses.replace(
        dataset,
        x_all=dataset.x_all[mine],
        y_all=dataset.y_all[mine],
        train_rows=None,
        val_rows=None,
        val_x=val_x,
        val_y=val_y,
        split_sizes=(dataset.n_train, dataset.n_val),
    )
    return sharded, shard


def sharded_micro_batches(
    shard: Shard, seed: int, epoch: int, batch_size: int
) -> tuple[torch.Tensor, list[int], list[float], list[int]]:
    """This rank's micro-batches of ``epoch``: (local row indices, all of them in order;
    how many belong to each micro-batch; the loss weight of each; the size of each
    micro-batch over all ranks)."""
    w = shard.world
    order = epoch_order(shard.n, seed, epoch)
    total = samples_per_rank(shard.n, w) * w
    if total > shard.n:  # padded as DistributedSampler pads: repeat from the start
        order = order.repeat(math.ceil(total / shard.n))[:total]
    group = w * batch_size
    sizes = [min(group, total - start) for start in range(0, total, group)]
    mine = (order % w) == shard.rank
    counts = [int(part.sum()) for part in torch.split(mine, sizes)]
    local = torch.div(order[mine], w, rounding_mode="floor")
    weights = [w * count / size for count, size in zip(counts, sizes, strict=True)]
    return local, counts, weights, sizes

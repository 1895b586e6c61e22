"""Device choice and the torch.distributed process group.

gloo on CPU, NCCL on CUDA, XLA on TPU (torch_xla, PJRT). The group is joined with
an explicit ``tcp://`` address because SageMaker/Vertex-derived ranks do not put
MASTER_ADDR in the environment.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import torch
import torch.distributed as dist

from trainers.context import RunContext
from trainers.errors import ConfigError

_INIT_TIMEOUT = datetime.timedelta(minutes=10)


def _xla_available() -> bool:
    try:
        import torch_xla  # noqa: F401
    except ImportError:
        return False
    return True


def select_device(requested: str, ctx: RunContext) -> torch.device:
    """``auto`` picks CUDA, then TPU (torch_xla), then CPU; CUDA uses ``local_rank``."""
    kind = requested
    if kind == "auto":
        if torch.cuda.is_available():
            kind = "cuda"
        elif os.environ.get("PJRT_DEVICE") == "TPU" and _xla_available():
            kind = "tpu"
        else:
            kind = "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device=cuda but no CUDA device is visible", hint="use device: auto")
        index = ctx.local_rank % torch.cuda.device_count()
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    if kind == "tpu":
        # UNVERIFIED on TPU hardware: follows the PJRT runtime docs (torch_xla >= 2.1).
        os.environ.setdefault("PJRT_DEVICE", "TPU")
        try:
            import torch_xla.core.xla_model as xm
        except ImportError as exc:
            raise ConfigError("device=tpu needs torch_xla in the image") from exc
        device: torch.device = xm.xla_device()
        return device
    return torch.device("cpu")


def backend_for(device: torch.device) -> str:
    if device.type == "cuda":
        return "nccl"
    if device.type == "xla":
        return "xla"
    return "gloo"


def init_process_group(ctx: RunContext, device: torch.device) -> bool:
    """Join the group when world_size > 1; returns whether this run is distributed."""
    if ctx.world_size <= 1:
        return False
    if dist.is_initialized():
        return True
    backend = backend_for(device)
    kwargs: dict[str, Any] = {"timeout": _INIT_TIMEOUT}
    if backend == "xla":
        import torch_xla.distributed.xla_backend  # noqa: F401  (registers the backend)

        dist.init_process_group("xla", init_method="xla://", **kwargs)
        return True
    if device.type == "cuda":
        kwargs["device_id"] = device
    dist.init_process_group(
        backend,
        init_method=f"tcp://{ctx.master_addr}:{ctx.master_port}",
        rank=ctx.rank,
        world_size=ctx.world_size,
        **kwargs,
    )
    return True


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over ranks in place (no-op when not distributed)."""
    if dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


class StopPoll:
    """Ranks agree to stop (SIGTERM on any of them) without a host sync on the hot path.

    Every ``every`` steps each rank adds its flag to an all-reduce and copies the sum
    to host memory asynchronously; the sum is read at the *next* poll, when it has long
    arrived, so every rank acts on the same sum at the same step.
    """

    def __init__(self, device: torch.device, every: int) -> None:
        self.device, self.every = device, every
        cuda = device.type == "cuda"
        self._host = torch.zeros(1, pin_memory=cuda)
        self._event: Any = None
        self._pending = False

    def __call__(self, step: int, requested: bool) -> bool:
        if step % self.every:
            return False
        decided = False
        if self._pending:
            if self._event is not None:
                self._event.synchronize()  # recorded a poll ago: the device is past it
            decided = bool(self._host[0] > 0)
        flag = torch.tensor([1.0 if requested else 0.0], device=self.device)
        all_reduce_sum(flag)
        if self.device.type == "cuda":
            self._host.copy_(flag, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record()
        else:
            self._host.copy_(flag)
        self._pending = True
        return decided


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DDP or torch.compile wrappers."""
    inner: Any = model
    while True:
        if isinstance(inner, torch.nn.parallel.DistributedDataParallel):
            inner = inner.module
        elif hasattr(inner, "_orig_mod"):
            inner = inner._orig_mod
        else:
            return inner  # type: ignore[no-any-return]

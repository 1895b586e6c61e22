"""Checkpoints off the training thread: a host snapshot at a step boundary, then a
background write.

The snapshot copies every tensor of the state into host buffers that are reused from
one checkpoint to the next (fresh 100 MB allocations would cost page faults every
time); on CUDA the buffers are pinned and filled with asynchronous copies, and one
synchronize makes them whole before the writer reads them. Because a snapshot reuses
its buffers, the next one starts only after the previous write has finished: that
wait is the only time the loop blocks on a write.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from trainers.errors import TrainerError


class HostSnapshot:
    """Copies a (nested) state of tensors into reusable host buffers."""

    def __init__(self, device: torch.device) -> None:
        self.pinned = device.type == "cuda"
        self._buffers: list[torch.Tensor] = []
        self._next = 0

    def copy(self, state: Any) -> Any:
        """A copy of ``state`` whose tensors live in this snapshot's host buffers."""
        self._next = 0
        out = self._walk(state)
        if self.pinned:
            torch.cuda.synchronize()  # the non-blocking copies must land before a write
        return out

    def _walk(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            return self._tensor(obj)
        if isinstance(obj, dict):
            copied = OrderedDict if isinstance(obj, OrderedDict) else dict
            out = copied((k, self._walk(v)) for k, v in obj.items())
            meta = getattr(obj, "_metadata", None)  # module versions, read by load_state_dict
            if meta is not None:
                out._metadata = meta  # type: ignore[attr-defined]
            return out
        if isinstance(obj, list):
            return [self._walk(v) for v in obj]
        if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            return tuple(self._walk(v) for v in obj)
        return obj

    def _tensor(self, t: torch.Tensor) -> torch.Tensor:
        t = t.detach()
        if t.layout != torch.strided or t.is_quantized:
            return t.to("cpu", copy=True)
        i = self._next
        self._next += 1
        if i < len(self._buffers):
            buf = self._buffers[i]
            if buf.shape != t.shape or buf.dtype != t.dtype:
                buf = self._buffers[i] = self._empty(t)
        else:
            buf = self._empty(t)
            self._buffers.append(buf)
        buf.copy_(t, non_blocking=self.pinned and t.device.type == "cuda")
        return buf

    def _empty(self, t: torch.Tensor) -> torch.Tensor:
        return torch.empty(t.shape, dtype=t.dtype, pin_memory=self.pinned)


class CheckpointWriter:
    """Runs one write at a time, on a background thread or (``background=False``) inline.

    A failed write is raised by the next ``submit`` or ``wait``, as a one-line error.
    """

    def __init__(self, background: bool) -> None:
        self.background = background
        self._thread: threading.Thread | None = None
        self._error: tuple[Path, BaseException] | None = None

    def submit(self, path: Path, write: Callable[[], Any]) -> None:
        """Start ``write`` (which writes ``path``) once the previous write has finished."""
        self.wait()
        if not self.background:
            self._run(path, write)
            self.wait()
            return
        # Not a daemon: an exiting interpreter still finishes the file it is writing.
        self._thread = threading.Thread(
            target=self._run, args=(path, write), name="checkpoint-writer", daemon=False
        )
        self._thread.start()

    def _run(self, path: Path, write: Callable[[], Any]) -> None:
        try:
            write()
        except BaseException as exc:  # handed to the training thread by wait()
            self._error = (path, exc)

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self) -> None:
        """Block until the pending write (if any) is on disk; raise its failure."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            path, exc = self._error
            self._error = None
            if isinstance(exc, OSError):
                raise TrainerError(
                    f"writing checkpoint {path} failed: {exc.strerror or exc}",
                    hint="free space in the checkpoint directory, or point it elsewhere",
                ) from exc
            raise exc

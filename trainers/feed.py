"""The input side of the loop: an epoch's micro-batch groups, optionally prepared ahead.

Without prefetch a group is gathered on the training thread when the step asks for
it: right when the data is resident on the device (the gather is one more queued
device op, or on CPU a small copy that costs less than a hand-off between threads).
With prefetch a background thread gathers the next groups while a step runs; on CUDA
it gathers from pinned host memory and copies on its own stream, and the training
stream waits for that copy on the device, not on the host.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import cast

import torch

from trainers.batches import TensorBatches

Batch = tuple[torch.Tensor, torch.Tensor]
_AHEAD = 2  # groups prepared ahead: one being consumed, one ready, one in preparation
_DONE = object()


class BatchFeed:
    """Yields lists of (x, y) micro-batches, ``accum`` per optimizer step; counts the
    seconds the training thread waited for them in ``wait_s``."""

    def __init__(
        self,
        data: TensorBatches,
        micro: list[torch.Tensor],
        start: int,
        accum: int,
        prefetch: bool,
        channels_last: bool = False,
    ) -> None:
        self.data, self.accum, self.channels_last = data, accum, channels_last
        self.groups = [micro[i : i + accum] for i in range(start, len(micro), accum)]
        self.wait_s = 0.0
        self._stop = threading.Event()
        self._queue: queue.Queue[object] | None = None
        self._thread: threading.Thread | None = None
        cuda = data.device.type == "cuda"
        self._stream = torch.cuda.Stream(data.device) if prefetch and cuda else None
        if prefetch:
            self._queue = queue.Queue(maxsize=_AHEAD)
            self._thread = threading.Thread(
                target=self._produce, name="batch-prefetch", daemon=True
            )
            self._thread.start()

    def _prepare(self, group: list[torch.Tensor]) -> list[Batch]:
        if not self.channels_last:  # the common case, once per step: keep it short
            return [self.data.batch(index) for index in group]
        out = []
        for index in group:
            x, y = self.data.batch(index)
            if self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            out.append((x, y))
        return out

    def _produce(self) -> None:
        assert self._queue is not None
        try:
            for group in self.groups:
                if self._stream is not None:
                    with torch.cuda.stream(self._stream):
                        batch = self._prepare(group)
                        ready = torch.cuda.Event()
                        ready.record(self._stream)
                    item: object = (batch, ready)
                else:
                    item = (self._prepare(group), None)
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as exc:  # re-raised on the training thread
            self._put(exc)

    def _put(self, item: object) -> bool:
        assert self._queue is not None
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[list[Batch]]:
        if self._queue is None:
            for group in self.groups:
                t0 = time.perf_counter()
                batch = self._prepare(group)
                self.wait_s += time.perf_counter() - t0
                yield batch
            return
        while True:
            t0 = time.perf_counter()
            item = self._queue.get()
            self.wait_s += time.perf_counter() - t0
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            batch, ready = cast(tuple[list[Batch], "torch.cuda.Event | None"], item)
            if ready is not None:
                current = torch.cuda.current_stream(self.data.device)
                current.wait_event(ready)
                for x, y in batch:  # keep the side stream's memory alive for this stream
                    x.record_stream(current)
                    y.record_stream(current)
            yield batch

    def close(self) -> None:
        """Stop the background thread (an early stop leaves batches unread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

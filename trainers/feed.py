"""The input side of the loop: an epoch's micro-batch groups, optionally prepared ahead.

Without prefetch a group is gathered on the training thread when the step asks for
it: right when the data is resident on the device (the gather is one more queued
device op, or on CPU a small copy that costs less than a hand-off between threads).
With prefetch a background thread gathers the next groups while a step runs; on CUDA
it gathers from pinned host memory and copies on its own stream, and the training
stream waits for that copy on the device, not on the host.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import cast

import torch

from trainers.batches import TensorBatches
from trainers.prefetch import Prefetcher

Batch = tuple[torch.Tensor, torch.Tensor]
_AHEAD = 2  # groups prepared ahead: one being consumed, one ready, one in preparation


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
        cuda = data.device.type == "cuda"
        self._stream = torch.cuda.Stream(data.device) if prefetch and cuda else None
        self._ahead = Prefetcher(self._prepared(), _AHEAD, "batch-prefetch") if prefetch else None

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

    def _prepared(self) -> Iterator[tuple[list[Batch], torch.cuda.Event | None]]:
        """The groups as the prefetch thread makes them; on CUDA, copied on the side stream
        with the event the training stream waits for."""
        for group in self.groups:
            if self._stream is None:
                yield self._prepare(group), None
                continue
            with torch.cuda.stream(self._stream):
                batch = self._prepare(group)
                ready = torch.cuda.Event()
                ready.record(self._stream)
            yield batch, ready

    def __iter__(self) -> Iterator[list[Batch]]:
        if self._ahead is None:
            for group in self.groups:
                t0 = time.perf_counter()
                batch = self._prepare(group)
                self.wait_s += time.perf_counter() - t0
                yield batch
            return
        items = iter(self._ahead)
        while True:
            t0 = time.perf_counter()
            item = next(items, None)
            self.wait_s += time.perf_counter() - t0
            if item is None:
                return
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
        if self._ahead is not None:
            self._ahead.close()

"""Memory for the batches of streamed windows, allocated once and reused.

Each micro-batch used to be a fresh array. Batches are made on a decode thread and let
go on the training thread a few windows later, interleaved with everything else the
process allocates; glibc's heap then fragmented, and the resident memory of a streamed
run grew with its length (measured: +120 MB over a 4M-row epoch, while the same run
with every such array mapped and unmapped stayed flat). Here a batch is a view of a
buffer from a pool, and a buffer is handed out again only when nothing refers to it
any more (no batch tensor, no view): the pool grows to the number of batches alive at
once and then stays that size. Reused pages are also not faulted in again, which made
the gather faster than into fresh arrays. The training lets batches go in the order
they were made, so the buffer after the last one handed out is nearly always free.
"""

from __future__ import annotations

import sys

import numpy as np


class WindowBuffers:
    """Flat arrays of one size class (one pool per kind of array); one thread uses a pool."""

    def __init__(self) -> None:
        self._buffers: list[np.ndarray] = []
        self._next = 0  # where to look first
        # The references an unused buffer has (the list's, and the count's own argument),
        # counted the way `_unused` counts them: a buffer only the list holds.
        self._buffers.append(np.empty(0, dtype=np.uint8))
        self._idle = self._refs(0)
        self._buffers.clear()

    def _refs(self, i: int) -> int:
        return sys.getrefcount(self._buffers[i])

    def _unused(self, i: int) -> bool:
        return self._refs(i) == self._idle

    def take(self, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """An array of ``shape`` and ``dtype`` in a buffer nothing else refers to (its
        contents are whatever was there: fill it)."""
        dtype = np.dtype(dtype)
        need = int(np.prod(shape)) * dtype.itemsize
        count = len(self._buffers)
        for k in range(count):
            i = (self._next + k) % count
            if self._buffers[i].nbytes >= need and self._unused(i):
                self._next = i + 1
                return self._buffers[i][:need].view(dtype).reshape(shape)
        buffer = np.empty(need, dtype=np.uint8)
        self._buffers.append(buffer)
        self._next = 0  # after the new one, the oldest: the next to be let go
        return buffer.view(dtype).reshape(shape)

    def reserve(self, count: int, nbytes: int) -> None:
        """Allocate ``count`` buffers of ``nbytes`` now and write them, so that they are
        resident from the start: the run's peak memory is then reached at once, the same
        however long it runs and however the threads happen to be timed (a pool that
        grows when the decode thread gets ahead reaches its size sooner or later, so a
        longer run showed a higher peak more often)."""
        while len(self._buffers) < count:
            buffer = np.empty(nbytes, dtype=np.uint8)
            buffer.fill(0)
            self._buffers.append(buffer)

    @property
    def count(self) -> int:
        """Buffers allocated so far."""
        return len(self._buffers)

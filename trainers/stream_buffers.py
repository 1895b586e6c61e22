"""Memory for the batches of streamed windows, allocated once and reused.

Each window's micro-batches used to be fresh arrays. They are made on a decode thread
and let go on the training thread, a few windows later, interleaved with everything
else the process allocates; glibc's heap then fragmented, and the resident memory of a
streamed run grew with its length (measured: +120 MB over a 4M-row epoch, while the
same run with every such array mapped and unmapped stayed flat). Here each window's
batches are views of one buffer, and a buffer is handed out again only when nothing
refers to it any more (no batch tensor, no view): the pool grows to the number of
windows alive at once (a handful) and then stays that size. Reused pages are also
not faulted in again, which made the gather faster than fresh arrays.
"""

from __future__ import annotations

import sys

import numpy as np


class WindowBuffers:
    """Flat arrays handed out for one window at a time; one thread uses a pool."""

    def __init__(self) -> None:
        self._buffers: list[np.ndarray] = []
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
        for i in range(len(self._buffers)):
            if self._buffers[i].nbytes >= need and self._unused(i):
                return self._buffers[i][:need].view(dtype).reshape(shape)
        buffer = np.empty(need, dtype=np.uint8)
        self._buffers.append(buffer)
        return buffer.view(dtype).reshape(shape)

    @property
    def count(self) -> int:
        """Buffers allocated so far."""
        return len(self._buffers)

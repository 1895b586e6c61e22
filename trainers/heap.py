"""Giving the C allocator's free memory back to the OS while data streams through.

A streamed run decodes a row group, converts it and drops it, over and over, on a
decode thread, while the training thread allocates its own tensors. glibc keeps what
is freed for reuse, but the sizes and threads interleave so that much of it never
fits a later request: measured over a 4M-row epoch, resident memory climbed steadily
(590 -> 705 MB) although what the run held stayed the same. A ``HeapTrimmer`` hands
free memory back (``malloc_trim``) whenever the resident size has grown more than a
slack since the last trim, so it stays within that slack of what is in use, however
long the run. Trimming every time would cost page faults when the memory is used
again; checking costs one read of ``/proc/self/statm``. Where there is no glibc or no
``/proc`` it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

_STATM = Path("/proc/self/statm")


@cache
def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


def resident_bytes() -> int | None:
    """This process's resident memory (None where ``/proc`` does not say)."""
    try:
        return int(_STATM.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_free_memory() -> None:
    """Hand memory that is free but still held by the C allocator back to the OS (glibc's
    ``malloc_trim``; nothing elsewhere)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


class HeapTrimmer:
    """Trims the heap when resident memory has grown by more than ``slack`` bytes since
    the last trim (the first call always trims, to set that floor). Any thread may call
    it; two at once at worst trim twice."""

    def __init__(self, slack: int) -> None:
        self.slack = slack
        self.trims = 0
        self._floor: int | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        """Trim if due; True if it trimmed."""
        if _libc() is None:
            return False
        rss = resident_bytes()
        if rss is None:
            return False
        with self._lock:
            if self._floor is not None and rss <= self._floor + self.slack:
                return False
            release_free_memory()
            self._floor = resident_bytes()
            self.trims += 1
        return True

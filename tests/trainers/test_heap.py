"""Free heap memory goes back to the OS once resident memory has grown past a slack."""

from __future__ import annotations

import pytest

from trainers.heap import HeapTrimmer, _libc, resident_bytes

MB = 1 << 20

pytestmark = pytest.mark.skipif(
    _libc() is None or resident_bytes() is None, reason="needs glibc and /proc"
)


def fragment(total: int) -> list[bytearray]:
    """Allocate ``total`` bytes in heap-sized pieces (64 KiB: below glibc's mmap
    threshold) and free every other one: holes the allocator keeps, as a long run's
    interleaved allocations leave them. Returns the pieces still in use."""
    pieces = [bytearray(b"x" * (64 * 1024)) for _ in range(total // (64 * 1024))]
    return pieces[1::2]


def test_it_trims_only_when_resident_memory_grew_past_the_slack() -> None:
    trim = HeapTrimmer(slack=48 * MB)
    assert trim()  # the first call sets the floor
    assert not trim()  # nothing has grown since
    keep = [bytearray(64 * 1024) for _ in range(8 * MB // (64 * 1024))]
    assert not trim()  # 8 MB more in use: within the slack
    kept = fragment(256 * MB)  # 128 MB freed in holes, and kept by the allocator
    before = resident_bytes()
    assert before is not None
    assert trim()
    after = resident_bytes()
    assert after is not None and after < before - 64 * MB
    assert trim.trims == 2
    del keep, kept

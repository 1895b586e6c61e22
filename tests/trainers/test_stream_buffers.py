"""A streamed window's batches live in a reused buffer: never one a batch still uses,
always one nothing uses any more, so a long run allocates a handful of buffers once."""

from __future__ import annotations

import numpy as np
import torch

from trainers.stream_buffers import WindowBuffers


def test_a_buffer_a_batch_still_uses_is_not_handed_out_again() -> None:
    pool = WindowBuffers()
    rows = pool.take((4, 3), np.float32)
    rows[...] = 1.0
    batch = torch.from_numpy(rows[:2])  # what the training holds
    del rows
    other = pool.take((4, 3), np.float32)
    other[...] = 2.0
    assert pool.count == 2
    assert torch.equal(batch, torch.ones(2, 3))


def test_a_buffer_nothing_uses_is_reused_for_any_dtype_that_fits() -> None:
    pool = WindowBuffers()
    rows = pool.take((64, 8), np.float32)
    batches = [torch.from_numpy(rows[i : i + 16]) for i in range(0, 64, 16)]
    del rows, batches
    codes = pool.take((64,), np.int64)  # 512 bytes fit in the 2 KB buffer
    assert pool.count == 1 and codes.dtype == np.int64 and codes.shape == (64,)
    bigger = pool.take((128, 8), np.float32)  # does not fit: a new buffer
    assert pool.count == 2 and bigger.shape == (128, 8)


def test_windows_trained_on_and_let_go_keep_the_pool_small() -> None:
    pool = WindowBuffers()
    in_flight: list[list[torch.Tensor]] = []
    for window in range(200):
        rows = pool.take((32, 4), np.float32)
        rows[...] = window
        in_flight.append([torch.from_numpy(rows[i : i + 8]) for i in range(0, 32, 8)])
        del rows
        if len(in_flight) == 3:  # the training lets a window go two windows later
            oldest = in_flight.pop(0)
            assert all(bool((b == b[0, 0]).all()) for b in oldest)  # never overwritten
            del oldest
    assert pool.count == 3


def test_a_reserved_pool_hands_out_its_own_buffers_first() -> None:
    pool = WindowBuffers()
    pool.reserve(3, 4 * 8 * 4)
    held = [pool.take((4, 8), np.float32) for _ in range(3)]
    assert pool.count == 3  # nothing allocated while training
    held.append(pool.take((4, 8), np.float32))
    assert pool.count == 4  # a fourth alive at once: the pool grows

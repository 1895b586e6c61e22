"""The order of a streamed epoch: pure arithmetic on positions, no I/O, no torch.

An epoch's stream is the training pieces (Parquet row-group runs) in a seeded order.
Rank r of W takes the contiguous positions [r*n, (r+1)*n), n = rows // W, so each rank
reads only its share of the files. Its share is cut into windows of ``window`` rows
(a multiple of the batch size); the rows of a window are permuted with a generator
seeded by (seed, epoch, window start) and cut into micro-batches. That is the bounded
shuffle buffer: one window in memory per reader.

With K DataLoader workers, worker k reads windows k, k+K, ...; the DataLoader returns
their batches round-robin, skipping a worker that has run out. That order depends on
(seed, epoch, rank, world, K) only, so a restart after m micro-batches rebuilds it and
starts each worker right after its last consumed batch (``resume_split``), reading no
window that is wholly behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trainers.stream_index import Piece


def piece_order(pieces: list[Piece], seed: int, epoch: int) -> list[Piece]:
    """This epoch's order of the training pieces."""
    perm = np.random.default_rng([seed, epoch]).permutation(len(pieces))
    return [pieces[int(i)] for i in perm]


def window_rows(shuffle_buffer: int, batch_size: int) -> int:
    """The shuffle window: at least one batch, else the buffer rounded down to batches."""
    return max(batch_size, (shuffle_buffer // batch_size) * batch_size)


def window_order(seed: int, epoch: int, start: int, rows: int) -> np.ndarray:
    """The permutation of the window of ``rows`` rows starting at stream ``start``."""
    return np.random.default_rng([seed, epoch, start]).permutation(rows)


@dataclass(frozen=True)
class EpochPlan:
    """One rank's windows for one epoch and how the readers share them."""

    windows: list[tuple[int, int]]  # [start, stop) stream positions
    batch: int
    workers: int  # readers: DataLoader workers, or 1 for the training process itself

    def worker_windows(self, k: int) -> list[tuple[int, int]]:
        return self.windows[k :: self.workers]

    def batches_in(self, window: tuple[int, int]) -> int:
        return math.ceil((window[1] - window[0]) / self.batch)

    def worker_batches(self) -> list[int]:
        """How many micro-batches each reader yields this epoch."""
        return [
            sum(self.batches_in(w) for w in self.worker_windows(k)) for k in range(self.workers)
        ]

    @property
    def micro_batches(self) -> int:
        return sum(self.batches_in(w) for w in self.windows)


def rank_rows(rows: int, world: int) -> int:
    """Rows each rank trains on per epoch (the remainder of rows // world is left out,
    a different remainder each epoch since the piece order changes)."""
    return rows // world


def epoch_plan(
    rows: int, rank: int, world: int, window: int, batch: int, workers: int
) -> EpochPlan:
    """The windows of ``rank`` over an epoch of ``rows`` stream positions."""
    n = rank_rows(rows, world)
    start, stop = rank * n, (rank + 1) * n
    windows = [(a, min(a + window, stop)) for a in range(start, stop, window)]
    return EpochPlan(windows, batch, max(1, workers))


def resume_split(counts: list[int], consumed: int) -> tuple[list[int], int]:
    """Round-robin over readers with ``counts`` batches each, skipping exhausted ones:
    after ``consumed`` batches, how many each reader has given and which one is next."""
    given = [0] * len(counts)
    left = consumed
    while True:
        alive = [k for k in range(len(counts)) if given[k] < counts[k]]
        if not alive:
            if left:
                raise ValueError(f"{consumed} batches consumed; the epoch has {sum(counts)}")
            return given, 0
        rounds = min(counts[k] - given[k] for k in alive)
        if left < rounds * len(alive):
            full, rest = divmod(left, len(alive))
            for i, k in enumerate(alive):
                given[k] += full + (1 if i < rest else 0)
            return given, alive[rest]  # a partial round stops before this reader
        for k in alive:
            given[k] += rounds
        left -= rounds * len(alive)

"""One DDP rank's shard of a tabular file (csv, parquet, jsonl), read without ever
holding the whole file's rows.

Loading the whole file and then cutting a shard (``data_shard.shard_dataset``) peaks at
the whole float32 array on every rank. Here every rank still reads the whole file, but
copies only its own rows out of each parsed piece: rank r of W keeps the rows at split
positions r, r+W, r+2W, ... of the training and of the validation split, in that order,
which are exactly the rows, in the same order, that ``shard_dataset`` keeps of a whole
load. A rank's peak is its shard (1/W of the array), one parsed piece (a CSV or JSON
Lines segment of ~4 MB, copied as rows; one column of one Parquet row group, see
``data_rank_sources.py``), and two numbers a row (the split position of each row, the
target of each row: the task and the class list come from every row in use, and must
agree on all ranks).

The seeded split is a permutation of the row count, so the count comes first:

- Parquet: from the files' footers, for free.
- CSV and JSON Lines: a counting pass over the raw bytes (newlines, counted by numpy in
  a reused buffer), then one parsing pass. Measured on the 1M x 32 CSV of
  ``bench/data_load.py`` (270 MB): the count costs ~0.1 s of a ~2 s load, and rank 0
  of 2 loads in 1.0-1.2x the CPU time of one process (``bench/RESULTS.md``). The other
  options were worse: pyarrow reading the target column alone still tokenises every
  column (0.5 s CPU, 0.8 s wall, measured), and parsing once while holding a compact
  copy of every row (float32 at best) is the whole array this module exists to avoid. A
  newline is not always a row (blank lines, which the readers skip; lone ``\\r`` line
  ends), so the parsing pass counts the rows it reads and, when the count was wrong,
  the load is done again with the right one: correct always, twice the parse only for
  such files.

The standardisation statistics are those of the whole training split, gathered during
the pass from every training row (not only this rank's): each block's mean and sum of
squared deviations, merged as Chan et al. do. That is the two-pass arithmetic of a whole
load (``data_split.train_statistics``) in a different order: equal up to float rounding.
A separate validation channel is read the same way (rank r keeps its rows r, r+W, ...).

One process (world 1) does not come here: ``data_tabular.py`` reads the file whole, as
fast and as lean as before. Nor do the other sources (npz, image folders, custom,
synthetic): they are loaded whole and cut afterwards, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainers.config import DataConfig
from trainers.data_rank_sources import OPENERS, Piece, Source
from trainers.data_split import Dataset, Task, encode_targets
from trainers.data_tabular import _target_values, feature_values
from trainers.errors import DataError
from trainers.heap import release_free_memory

SHARD_SOURCES = ("csv", "parquet", "jsonl")
_BLOCK_ROWS = 1 << 10  # rows per block of the standardisation (float64 copies)
_BLOCK_VALUES = 1 << 16  # values of one column per block of the statistics
_ROWS_BYTES = 8 << 20  # pieces up to this size are copied as rows, larger ones by column


@dataclass(frozen=True)
class _Placement:
    """Where rank ``rank`` of ``world`` keeps a source's rows: ``pos[i]`` is file row i's
    position in the split (-1: left out by ``data.limit``), positions below ``n_val`` are
    validation rows, the others up to ``used`` training rows."""

    pos: np.ndarray
    n_val: int
    used: int
    rank: int
    world: int

    def train_rows(self) -> int:
        return len(range(self.n_val + self.rank, self.used, self.world))

    def val_rows(self) -> int:
        return len(range(self.rank, self.n_val, self.world))


class _Moments:
    """Running mean and sum of squared deviations of each feature, merged block by block
    (Chan et al.), a column at a time."""

    def __init__(self, features: int) -> None:
        self.n = np.zeros(features)
        self.mean = np.zeros(features)
        self.m2 = np.zeros(features)

    def add(self, j: int, values: np.ndarray) -> None:
        for a in range(0, len(values), _BLOCK_VALUES):
            block = values[a : a + _BLOCK_VALUES].astype(np.float64)
            k = len(block)
            block_mean = block.mean()
            block -= block_mean
            n, delta = self.n[j], block_mean - self.mean[j]
            self.mean[j] += delta * (k / (n + k))
            squares = np.square(block, out=block).sum()  # not np.dot: BLAS threads wake per call
            self.m2[j] += squares + delta * delta * (n * k / (n + k))
            self.n[j] = n + k

    def add_rows(self, rows: np.ndarray) -> None:
        """Every column at once, from the rows of a (rows x features) array."""
        for a in range(0, len(rows), _BLOCK_ROWS):
            block = rows[a : a + _BLOCK_ROWS].astype(np.float64)
            k = len(block)
            block_mean = block.mean(axis=0)
            block -= block_mean
            n, delta = self.n, block_mean - self.mean
            self.mean += delta * (k / (n + k))
            self.m2 += np.square(block, out=block).sum(axis=0) + delta * delta * (n * k / (n + k))
            self.n = n + k

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation (a constant feature's set to 1), as a whole load has."""
        std = np.sqrt(np.maximum(self.m2, 0.0) / np.maximum(self.n, 1))
        return self.mean, np.where(std > 1e-12, std, 1.0)


def _moves(mine: np.ndarray, position: np.ndarray, world: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows of a piece, their rows in this rank's array) for the rows ``mine``, in the
    order of the latter: the writes of a column then go forward through the array, not
    at random (one cache miss per row and column otherwise, 3x the whole load's time on
    a Parquet row group of 1M rows)."""
    rows = np.flatnonzero(mine)
    to = position[rows] // world
    order = np.argsort(to)
    return rows[order], to[order]


class _ShardSink:
    """Pieces of a source, in file order, of which this rank's rows are copied into place."""

    def __init__(self, place: _Placement, source: Source, stats: bool) -> None:
        self.pos: np.ndarray | None = place.pos  # let go once the pass is over
        self.n_val, self.used = place.n_val, place.used
        self.rank, self.world = place.rank, place.world
        self.features, self.where = source.features, source.where
        self.target = source.target
        self.train = np.empty((place.train_rows(), len(self.features)), dtype=np.float32)
        self.val = np.empty((place.val_rows(), len(self.features)), dtype=np.float32)
        self.moments = _Moments(len(self.features)) if stats else None
        self.n = 0
        self._targets: list[Any] = []

    def add(self, piece: Piece) -> None:
        """Copy this rank's rows of ``piece``; every training row's values go into the
        statistics."""
        start, self.n = self.n, self.n + piece.rows
        self._targets.append(piece.target)
        assert self.pos is not None
        if self.n > len(self.pos):  # more rows than counted: only counted now, then redone
            return
        k = self.pos[start : self.n]
        train = k >= self.n_val
        t = k - self.n_val
        mine = train & (t % self.world == self.rank)
        mine_val = (k >= 0) & ~train & (k % self.world == self.rank)
        if piece.rows * len(self.features) * 4 <= _ROWS_BYTES:
            # a small piece (a CSV or JSON Lines one) as rows: a row's values are copied
            # together, and the statistics are taken over all columns at once
            rows = np.empty((piece.rows, len(self.features)), dtype=np.float32)
            for j, name in enumerate(self.features):
                rows[:, j] = feature_values(piece.column(name), name, self.where)
            self.train[t[mine] // self.world] = rows[mine]
            self.val[k[mine_val] // self.world] = rows[mine_val]
            if self.moments is not None:
                self.moments.add_rows(rows[train])
            return
        from_train, to_train = _moves(mine, t, self.world)
        from_val, to_val = _moves(mine_val, k, self.world)
        for j, name in enumerate(self.features):  # a Parquet row group: a column at a time
            # float32 first: the statistics are those of the values the model will see
            values = feature_values(piece.column(name), name, self.where)
            values = values.astype(np.float32, copy=False)
            self.train[to_train, j] = values[from_train]
            self.val[to_val, j] = values[from_val]
            if self.moments is not None:
                self.moments.add(j, values[train])

    def targets(self) -> np.ndarray:
        """Every row's target, in file order (taken: asked once)."""
        chunks, self._targets = self._targets, []
        return _target_values(chunks, self.where, self.target)


_NAMES = {"csv": "CSV", "parquet": "Parquet", "jsonl": "JSON Lines"}


def _split_order(rows: int, seed: int, limit: int | None) -> np.ndarray:
    """File rows in split order, cut to ``data.limit``: the order a whole load uses."""
    order = np.random.default_rng(seed).permutation(rows)
    return order if limit is None or limit >= rows else order[:limit]


def _placement(
    rows: int, seed: int | None, cfg: DataConfig, split: float, rank: int, world: int
) -> _Placement:
    """``seed`` None: a validation channel (every row a validation row, in file order)."""
    if seed is None:
        return _Placement(np.arange(rows), rows, rows, rank, world)
    order = _split_order(rows, seed, cfg.limit)
    index = np.int32 if rows < 2**31 else np.int64
    pos = np.full(rows, -1, dtype=index)
    pos[order] = np.arange(len(order), dtype=index)
    return _Placement(pos, round(len(order) * split), len(order), rank, world)


def _read(source: Source, place_of: Callable[[int], _Placement], stats: bool) -> _ShardSink:
    """One pass over ``source`` (two when the newline count was not the row count)."""
    rows = source.rows
    while True:
        sink = _ShardSink(place_of(rows), source, stats)
        source.feed(sink.add)
        if sink.n == rows:
            sink.pos = None
            release_free_memory()  # the parse's freed buffers, which the reader's threads keep
            return sink
        if source.exact:
            raise DataError(f"{source.where}: expected {rows} rows, read {sink.n}")
        rows = sink.n
        del sink


def load_rank_shard(
    cfg: DataConfig,
    seed: int,
    location: Path,
    val_location: Path | None,
    task_of: Callable[[np.ndarray], Task],
    rank: int,
    world: int,
) -> Dataset:
    """What ``shard_dataset(load_dataset(...), rank, world)`` returns, read in one pass
    that never holds more than this rank's rows (see the module docstring)."""
    source = OPENERS[cfg.source](location, cfg.target)
    split = 0.0 if val_location is not None else cfg.val_fraction
    sink = _read(source, lambda n: _placement(n, seed, cfg, split, rank, world), cfg.standardize)
    n_val, used = sink.n_val, sink.used
    if used == 0:
        raise DataError(f"data: {location} holds no {_NAMES[cfg.source]} rows")
    if used == n_val:
        raise DataError("data: no training rows left after the validation split")
    # The task and the classes do not depend on the order of the rows, so the targets are
    # put in split order only when data.limit leaves some out: a rank then picks its rows
    # through the split order, which is made again rather than held with the targets.
    y = sink.targets()
    if used < sink.n:
        y = y[_split_order(sink.n, seed, cfg.limit)]
    val_sink = val_y = None
    if val_location is not None:
        val_source = OPENERS[cfg.source](val_location, cfg.target)
        val_sink = _read(val_source, lambda n: _placement(n, None, cfg, 1.0, rank, world), False)
        val_y = val_sink.targets()
    task = task_of(y)
    y, val_y, classes = encode_targets(task, y, val_y, cfg.target, None)
    mean = std = None
    if sink.moments is not None:
        mean_arr, std_arr = sink.moments.result()
        for part in (sink.train, sink.val, None if val_sink is None else val_sink.val):
            if part is not None:
                _standardise(part, mean_arr, std_arr)
        mean, std = mean_arr.tolist(), std_arr.tolist()
    y_dtype = torch.int64 if task == "classification" else torch.float32

    def rows_of(
        values: np.ndarray, start: int, stop: int | None = None, at: np.ndarray | None = None
    ) -> torch.Tensor:
        """``values[at]`` (``values`` when ``at`` is None) at start, start + world, ...: a
        copy, so that the whole column is let go."""
        index = slice(start, stop, world) if at is None else at[start:stop:world]
        return torch.as_tensor(np.ascontiguousarray(values[index]), dtype=y_dtype)

    at = None if used < sink.n else _split_order(sink.n, seed, None)  # y is in file order
    val_x = val_t = None
    n_val_all = n_val
    if val_sink is not None and val_y is not None:
        n_val_all = len(val_y)
        if n_val_all:
            val_x, val_t = torch.from_numpy(val_sink.val), rows_of(val_y, rank)
    elif n_val:
        val_x, val_t = torch.from_numpy(sink.val), rows_of(y, rank, n_val, at)
    train_y = rows_of(y, n_val + rank, None, at)
    del y, val_y, at
    release_free_memory()
    return Dataset(
        x_all=torch.from_numpy(sink.train),
        y_all=train_y,
        task=task,
        input_shape=(len(source.features),),
        num_outputs=len(classes) if classes is not None else int(train_y.shape[1]),
        classes=classes,
        mean=mean,
        std=std,
        meta={"source": cfg.source, "rows": used, "loaded_shard": (rank, world)},
        val_x=val_x,
        val_y=val_t,
        split_sizes=(used - n_val, n_val_all),
    )


def _standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> None:
    """``x`` standardised in place as ``data_split.as_float32`` does it, in smaller blocks."""
    for a in range(0, len(x), _BLOCK_ROWS):
        block = x[a : a + _BLOCK_ROWS].astype(np.float64)
        block -= mean
        block /= std
        x[a : a + _BLOCK_ROWS] = block

"""Streaming a Parquet source larger than memory (``data.mode: stream``).

``open_stream`` indexes the files (footers only), settles the task, labels and feature
statistics (``stream_stats``), and returns the training side (``StreamTrain``: an
epoch's micro-batches, in the order ``stream_plan`` fixes) and the validation side
(``StreamVal``). Memory is bounded by the shuffle window and one decoded row group per
reader, whatever the size of the data. A restart resumes at the exact micro-batch.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from trainers.config import TrainConfig
from trainers.context import RunContext
from trainers.data import resolve_location, validation_dir
from trainers.errors import DataError
from trainers.heap import HeapTrimmer
from trainers.prefetch import Prefetcher
from trainers.stream_buffers import WindowBuffers
from trainers.stream_index import ParquetIndex, Piece, PieceReader, parquet_files
from trainers.stream_plan import (
    EpochPlan,
    epoch_plan,
    piece_order,
    rank_rows,
    resume_split,
    window_order,
    window_rows,
)
from trainers.stream_stats import Labels, feature_stats, scan_labels
from trainers.stream_windows import Decoder, WindowPipeline

Batch = tuple[torch.Tensor, torch.Tensor]
_AHEAD = 4  # micro-batches a reader thread prepares ahead
# Resident growth a streamed run may gather before free heap memory is handed back (see
# trainers/heap.py): a trim then hands back a few MB, which costs ~1 ms to fault back in.
_TRIM = HeapTrimmer(slack=8 << 20)
# Windows decoded at once in the training process (pyarrow and numpy release the GIL);
# DataLoader workers decode one each, being processes of their own.
_DECODE_THREADS = max(1, min(2, (os.cpu_count() or 1) - 1))


@dataclass
class StreamInfo:
    """What the rest of the trainer knows about a streamed dataset (as ``data.Dataset``)."""

    task: str
    input_shape: tuple[int, ...]
    num_outputs: int
    n_train: int
    n_val: int
    classes: list[str] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Transform:
    """Raw window rows -> training tensors: standardise, encode labels."""

    labels: Labels
    mean: np.ndarray | None
    std: np.ndarray | None

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All rows of (x, y), ready to train on (``x`` itself is left untouched)."""
        return self._standardise(np.array(x, dtype=np.float32)), self.labels.encode(y)

    def batches(
        self,
        x: np.ndarray,
        y: np.ndarray,
        order: np.ndarray,
        batch: int,
        first: int = 0,
        buffers: tuple[WindowBuffers, WindowBuffers] | None = None,
    ) -> list[Batch]:
        """Micro-batches ``first``, ... of the rows of (x, y) taken in ``order``.

        Each batch is gathered and standardised on its own (~0.5 MB, still in cache for the
        second pass) into a buffer of ``buffers`` (features, labels; fresh arrays without
        them): the window's rows can be a view of the reader's row group buffer, and the
        batches outlive it.
        """
        order = order[first * batch :]
        rows, labels = buffers if buffers is not None else (WindowBuffers(), WindowBuffers())
        codes = self.labels.encode(np.take(y, order))
        width = x.shape[1]
        out: list[Batch] = []
        for a in range(0, len(order), batch):
            n = min(batch, len(order) - a)
            xb = rows.take((n, width), np.float32)
            # np.take, not x[order]: the same rows, several times faster for 2-D arrays
            picked = np.take(x, order[a : a + n], axis=0)
            if self.mean is not None and self.std is not None:
                np.subtract(picked, self.mean, out=xb)
                np.divide(xb, self.std, out=xb)
            else:
                xb[...] = picked
            yb = labels.take((n,), codes.dtype)
            yb[...] = codes[a : a + n]
            out.append((torch.from_numpy(xb), torch.from_numpy(yb)))
        return out

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        if self.mean is not None and self.std is not None:
            np.subtract(x, self.mean, out=x)
            np.divide(x, self.std, out=x)
        return x


class EpochStream(IterableDataset[Batch]):
    """One rank's micro-batches of one epoch, from micro-batch ``start`` on; each
    DataLoader worker reads its own windows (see ``stream_plan``)."""

    def __init__(
        self,
        index: ParquetIndex,
        order: list[Piece],
        plan: EpochPlan,
        transform: _Transform,
        seed: int,
        epoch: int,
        start: int,
        decoder: Decoder | None = None,
    ) -> None:
        self.index, self.order, self.plan = index, order, plan
        self.decoder = decoder  # the training process's decode threads (not pickled)
        self.transform, self.seed, self.epoch = transform, seed, epoch
        self.given, self.first = resume_split(plan.worker_batches(), start)
        self._then: Callable[[], None] | None = None
        self._early: WindowPipeline | None = None

    def _windows(self, k: int) -> list[tuple[tuple[int, int], int]]:
        """Reader ``k``'s windows still to read, each with its first batch to yield."""
        todo, skip = [], self.given[k]
        for window in self.plan.worker_windows(k):
            count = self.plan.batches_in(window)
            if skip >= count:
                skip -= count
                continue
            todo.append((window, skip))
            skip = 0
        return todo

    def _load(self, window: tuple[int, int], first: int, local: threading.local) -> list[Batch]:
        """One window's micro-batches from ``first`` on, standardised, in its shuffled order."""
        reader = getattr(local, "reader", None)
        if reader is None:  # a reader per thread, for the whole run: it caches a row group
            reader = local.reader = PieceReader(self.index, self.order)
            reader.reserve_run(max((z - a for a, z in self.plan.windows), default=0))
        elif reader.pieces is not self.order:  # a new epoch's order; its buffers are kept
            reader.use(self.order)
        a, z = window
        x, y = reader.read(a, z)  # a view of the reader's buffer: used up here
        order = window_order(self.seed, self.epoch, a, z - a)
        if not hasattr(local, "buffers"):  # features, labels
            local.buffers = (WindowBuffers(), WindowBuffers())
            if self.decoder is not None:  # the training process: the batches alive at most
                batch_bytes = self.plan.batch * x.shape[1] * 4
                local.buffers[0].reserve(self._batches_alive(), batch_bytes)
        batches = self.transform.batches(x, y, order, self.plan.batch, first, local.buffers)
        _TRIM()  # the row group's decoded columns were just let go
        return batches

    def _batches_alive(self) -> int:
        """The most micro-batches of the training process's reader alive at once: the
        window being trained on and the next one (decoded while it is), the read-ahead
        queue, and the step's own."""
        per_window = self.plan.batches_in(self.plan.windows[0]) if self.plan.windows else 0
        return 2 * per_window + _AHEAD + 2

    def _pipeline(self, k: int) -> WindowPipeline:
        """Reader ``k``'s windows, as many decoded at once as the decoder has threads (the
        order does not depend on it: results are taken in window order). A DataLoader
        worker, a process of its own, decodes on one thread of its own."""
        if self.decoder is not None:
            return WindowPipeline(self._load, self._windows(k), self.decoder, self._then)
        return WindowPipeline(self._load, self._windows(k), Decoder(1), owns_decoder=True)

    def read_early(self, then: Callable[[], None] | None = None) -> None:
        """Start decoding this epoch's first window now, in the training process, while
        the epoch before is still training; ``then`` as ``WindowPipeline``'s."""
        self._then = then
        self._early = self._pipeline(0)
        self._early.start()

    def close(self) -> None:
        """Let an early start's decode threads go if the epoch is never read."""
        if self._early is not None:
            self._early.close()

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        if info is None:  # the training process reads: decode windows on spare cores
            early, self._early = self._early, None
            return iter(early if early is not None else self._pipeline(0))
        # Rotated so that the DataLoader's first worker serves the reader that is next.
        return iter(self._pipeline((self.first + info.id) % self.plan.workers))


class StreamFeed:
    """An epoch's micro-batches in groups of ``accum``, on the device; ``wait_s`` counts
    the seconds the training thread waited for them (as ``feed.BatchFeed``)."""

    def __init__(
        self, stream: EpochStream, workers: int, device: torch.device, accum: int, thread: bool
    ) -> None:
        self.device, self.accum = device, accum
        self.wait_s = 0.0
        pin = device.type == "cuda"
        source: Any = stream
        if workers > 0:
            # Its own generator: a DataLoader draws its workers' base seed from the global
            # RNG otherwise, and a resumed run would then draw dropout masks off by one.
            seeds = torch.Generator().manual_seed(stream.seed)
            source = DataLoader(
                stream, batch_size=None, num_workers=workers, pin_memory=pin, generator=seeds
            )
        self._source: Any = source
        self._pin = pin and workers == 0  # a DataLoader pins its batches itself
        self._ahead: Prefetcher | None = None
        if thread and workers == 0:  # read the next windows while a step runs
            self._ahead = Prefetcher(self._pinned(), _AHEAD, "stream-read")

    def _pinned(self) -> Iterator[Batch]:
        for x, y in self._source:
            # pinned here, off the training thread: the copy to the GPU is then async
            yield (x.pin_memory(), y.pin_memory()) if self._pin else (x, y)

    def _items(self) -> Iterator[Batch]:
        if self._ahead is None:
            yield from self._source
            return
        yield from self._ahead  # type: ignore[misc]

    def __iter__(self) -> Iterator[list[Batch]]:
        items = self._items()
        non_blocking = self.device.type == "cuda"
        while True:
            t0 = time.perf_counter()
            group: list[Batch] = []
            for x, y in items:
                group.append(
                    (
                        x.to(self.device, non_blocking=non_blocking),
                        y.to(self.device, non_blocking=non_blocking),
                    )
                )
                if len(group) == self.accum:
                    break
            self.wait_s += time.perf_counter() - t0
            if not group:
                return
            yield group

    def close(self) -> None:
        """Stop the reader thread and let the DataLoader's workers go."""
        if self._ahead is not None:
            self._ahead.close()
        self._source = None


class StreamTrain:
    """The training split of a streamed source."""

    resident = False  # never on the device as a whole: speed.plan_speed reads this

    def __init__(
        self,
        index: ParquetIndex,
        pieces: list[Piece],
        transform: _Transform,
        cfg: TrainConfig,
        rank: int,
        world: int,
        device: torch.device,
    ) -> None:
        self.index, self.pieces, self.transform = index, pieces, transform
        self.seed, self.batch, self.epochs = cfg.seed, cfg.batch_size, cfg.epochs
        self._next: tuple[int, EpochStream] | None = None  # the next epoch, started early
        self.window = window_rows(cfg.data.shuffle_buffer, cfg.batch_size)
        self.workers = cfg.data.workers or 0  # null: the in-process reader, as 0
        self.rank, self.world, self.device = rank, world, device
        self.rows = sum(p.rows for p in pieces)
        self.n = rank_rows(self.rows, world)  # this rank's rows per epoch
        if self.n == 0:
            raise DataError(f"data: {self.rows} training rows cannot feed {world} ranks")
        # The training process's decode threads (DataLoader workers have their own).
        self._decoder = Decoder(_DECODE_THREADS) if self.workers == 0 else None
        if self.workers == 0:  # the first window decodes while the model is being set up
            self._read_next_early(0)

    def plan(self) -> EpochPlan:
        """This rank's windows (the same every epoch; the rows in them change)."""
        return epoch_plan(self.rows, self.rank, self.world, self.window, self.batch, self.workers)

    @property
    def micro_batches(self) -> int:
        """Micro-batches per epoch on this rank (the same every epoch)."""
        return math.ceil(self.n / self.batch)

    def _stream(self, epoch: int, start: int) -> EpochStream:
        order = piece_order(self.pieces, self.seed, epoch)
        return EpochStream(
            self.index, order, self.plan(), self.transform, self.seed, epoch, start, self._decoder
        )

    def _read_next_early(self, epoch: int) -> None:
        """Start decoding epoch ``epoch``'s first window while the one before ends: each
        epoch otherwise began with the training waiting for a whole window's decode."""
        if epoch >= self.epochs:
            return
        stream = self._stream(epoch, 0)
        stream.read_early(then=lambda: self._read_next_early(epoch + 1))
        self._next = (epoch, stream)

    def feed(self, epoch: int, start: int, accum: int, thread: bool) -> StreamFeed:
        """The epoch's feed from micro-batch ``start`` (0, or where a checkpoint stood)."""
        early, self._next = self._next, None
        if early is not None and (early[0], start) == (epoch, 0):
            stream = early[1]
        else:
            if early is not None:
                early[1].close()
            stream = self._stream(epoch, start)
            if self.workers == 0:  # DataLoader workers read in processes of their own
                stream.read_early(then=lambda: self._read_next_early(epoch + 1))
        return StreamFeed(stream, self.workers, self.device, accum, thread)

    def close(self) -> None:
        """Let go of the next epoch's early decode and the decode threads."""
        early, self._next = self._next, None
        if early is not None:
            early[1].close()
        if self._decoder is not None:
            self._decoder.close()


class StreamVal:
    """The validation split: each rank reads a contiguous share, in file order."""

    def __init__(
        self, index: ParquetIndex, pieces: list[Piece], transform: _Transform, device: torch.device
    ) -> None:
        self.index, self.pieces, self.transform, self.device = index, pieces, transform, device
        self.n = sum(p.rows for p in pieces)
        self._reader: PieceReader | None = None  # kept between evaluations, with its buffers

    def batches(self, rank: int, world: int, batch_size: int) -> Iterator[Batch]:
        if self._reader is None:
            self._reader = PieceReader(self.index, self.pieces)
        reader = self._reader
        start, stop = rank * self.n // world, (rank + 1) * self.n // world
        for a in range(start, stop, batch_size):
            x, y = self.transform(*reader.read(a, min(a + batch_size, stop)))
            yield torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)


def _index(location: Path, target: str) -> ParquetIndex:
    return ParquetIndex(parquet_files(location), target)


def open_stream(
    cfg: TrainConfig, ctx: RunContext, device: torch.device
) -> tuple[StreamInfo, StreamTrain, StreamVal | None]:
    """Index the source, settle labels and statistics, and build both splits."""
    data = cfg.data
    assert data.uri is not None  # DataConfig requires it for parquet
    location = resolve_location(data.uri, ctx.data_dir)  # gs:// -> the Vertex /gcs FUSE path
    index = _index(location, data.target)
    if data.limit is not None:  # the first rows in file order: nothing else is read
        index.truncate(data.limit)
    val_location = validation_dir(ctx.data_dirs)
    if val_location is not None:
        val_index = _index(val_location, data.target)
        if val_index.features != index.features:
            raise DataError(f"{val_location}: validation columns differ from the training data's")
        train, val = index.pieces, val_index.pieces
    else:
        val_index = index
        train, val = index.split(round(index.rows * data.val_fraction))
    if not train:
        raise DataError("data: no training rows left after the validation split")
    labels = scan_labels(
        [index] if val_location is None else [index, val_index], data, cfg.model.kind
    )
    width = len(index.features)
    mean = std = None
    if data.stats is not None:
        if len(data.stats.mean) != width:
            raise DataError(
                f"data.stats: {len(data.stats.mean)} values for {width} feature columns "
                f"({', '.join(index.features[:5])}{', ...' if width > 5 else ''})"
            )
        mean, std = np.asarray(data.stats.mean), np.asarray(data.stats.std)
    elif data.standardize:
        mean, std = feature_stats(index, train, ctx.rank, ctx.world_size, device)
    transform = _Transform(
        labels,
        None if mean is None else mean.astype(np.float32),
        None if std is None else std.astype(np.float32),
    )
    train_split = StreamTrain(index, train, transform, cfg, ctx.rank, ctx.world_size, device)
    val_split = StreamVal(val_index, val, transform, device) if val else None
    info = StreamInfo(
        task=labels.task,
        input_shape=(width,),
        num_outputs=len(labels.classes) if labels.classes is not None else 1,
        n_train=train_split.n * ctx.world_size,
        n_val=0 if val_split is None else val_split.n,
        classes=labels.classes,
        mean=None if mean is None else mean.tolist(),
        std=None if std is None else std.tolist(),
        meta={
            "source": data.source,
            "mode": "stream",
            "rows": index.rows,
            "files": len(index.files),
        },
    )
    return info, train_split, val_split

"""Streaming reads ahead: the next window decodes while this one's batches are trained on,
the next epoch's first window before that epoch is asked for, and a run keeps one Parquet
reader (and its buffers) per decode thread from the first epoch to the last."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from stream_helpers import write_parquet
from test_trainer_stream import CPU, config, context

import trainers.stream
from trainers.config import TrainConfig
from trainers.errors import DataError
from trainers.stream import open_stream
from trainers.stream_index import PieceReader
from trainers.stream_windows import Decoder, WindowPipeline

WAIT_S = 10.0  # generous: a decode here takes milliseconds


def epochs(uri: Path, n: int) -> TrainConfig:
    return config(uri).model_copy(update={"epochs": n})


def windows(n: int) -> list[tuple[tuple[int, int], int]]:
    return [((10 * i, 10 * i + 10), 0) for i in range(n)]


def batch(i: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.full((2, 1), float(i)), torch.zeros(2)


def test_the_next_window_decodes_while_this_ones_batches_are_trained_on() -> None:
    decoded = {i: threading.Event() for i in range(3)}

    def load(window: tuple[int, int], first: int, local: threading.local) -> list[Any]:
        i = window[0] // 10
        decoded[i].set()
        return [batch(i), batch(i)]

    decoder = Decoder(1)
    try:
        batches = iter(WindowPipeline(load, windows(3), decoder))
        x, _ = next(batches)  # the first batch of window 0, still being trained on
        assert x[0, 0] == 0
        # One decode thread, and window 1 is decoded without being asked for.
        assert decoded[1].wait(WAIT_S)
        assert [int(x[0, 0]) for x, _ in batches] == [0, 1, 1, 2, 2]
    finally:
        decoder.close()


def test_then_runs_once_the_last_window_is_decoded_and_before_it_is_handed_over() -> None:
    events: list[str] = []

    def load(window: tuple[int, int], first: int, local: threading.local) -> list[Any]:
        events.append(f"decoded {window[0] // 10}")
        return [batch(window[0] // 10)]

    decoder = Decoder(1)
    try:
        pipeline = WindowPipeline(load, windows(3), decoder, then=lambda: events.append("then"))
        for x, _ in pipeline:
            events.append(f"trained {int(x[0, 0])}")
    finally:
        decoder.close()
    assert events.index("then") > events.index("decoded 2")
    assert events.index("then") < events.index("trained 2")
    assert events.count("then") == 1


def test_an_epoch_s_first_window_is_decoded_before_the_epoch_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_parquet(tmp_path / "data")
    calls: list[tuple[int, tuple[int, int]]] = []
    load = trainers.stream.EpochStream._load

    def recorded(self: Any, window: tuple[int, int], first: int, local: Any) -> Any:
        calls.append((self.epoch, window))
        return load(self, window, first, local)

    monkeypatch.setattr(trainers.stream.EpochStream, "_load", recorded)
    _, train, _ = open_stream(epochs(tmp_path / "data", 2), context(tmp_path), CPU)
    try:
        first_window = train.plan().windows[0]
        feed = train.feed(0, 0, accum=1, thread=False)
        assert sum(1 for _ in feed) == train.micro_batches
        feed.close()
        # Epoch 1 has not been asked for, and its first window is already decoded.
        assert (1, first_window) in calls
        assert sum(1 for _ in train.feed(1, 0, accum=1, thread=False)) == train.micro_batches
        assert calls.count((1, first_window)) == 1  # taken over, not decoded again
    finally:
        train.close()


def test_a_run_keeps_one_reader_per_decode_thread_from_epoch_to_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_parquet(tmp_path / "data")
    made: list[str] = []  # the threads that made a reader
    init = PieceReader.__init__

    def counted(self: PieceReader, *args: Any) -> None:
        init(self, *args)
        made.append(threading.current_thread().name)

    monkeypatch.setattr(trainers.stream, "_DECODE_THREADS", 1)
    monkeypatch.setattr(PieceReader, "__init__", counted)
    _, train, _ = open_stream(epochs(tmp_path / "data", 3), context(tmp_path), CPU)
    try:
        for epoch in range(3):
            feed = train.feed(epoch, 0, accum=1, thread=False)
            assert sum(1 for _ in feed) == train.micro_batches
            feed.close()
    finally:
        train.close()
    decoding = [name for name in made if name.startswith("stream-decode")]
    assert len(decoding) == 1  # before: one per epoch, each allocating its buffers anew


def test_closing_the_training_split_stops_its_decode_threads(tmp_path: Path) -> None:
    write_parquet(tmp_path / "data")
    _, train, _ = open_stream(epochs(tmp_path / "data", 2), context(tmp_path), CPU)
    feed = train.feed(0, 5, accum=1, thread=False)  # a resumed epoch: the early one is dropped
    next(iter(feed))
    feed.close()
    train.close()
    alive = [t for t in threading.enumerate() if t.name.startswith("stream-decode")]
    assert alive == []


def test_evaluations_reuse_one_validation_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_parquet(tmp_path / "data")
    _, train, val = open_stream(config(tmp_path / "data"), context(tmp_path), CPU)
    train.close()
    assert val is not None
    made: list[PieceReader] = []
    init = PieceReader.__init__

    def counted(self: PieceReader, *args: Any) -> None:
        init(self, *args)
        made.append(self)

    monkeypatch.setattr(PieceReader, "__init__", counted)
    first = [x for x, _ in val.batches(0, 1, 16)]
    again = [x for x, _ in val.batches(0, 1, 16)]
    assert len(made) == 1  # its buffers are allocated once, not at every evaluation
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


def test_the_buffers_a_run_needs_are_allocated_before_its_first_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Row groups of 100 rows and windows of 96: every window after the first crosses a
    # row-group boundary, which needs the reader's run buffer. It is there from the start,
    # so the peak memory does not depend on when the shuffled order first crosses one.
    write_parquet(tmp_path / "data", files=1, rows=1000, row_group=100)
    readers: list[PieceReader] = []
    init = PieceReader.__init__

    def kept(self: PieceReader, *args: Any) -> None:
        init(self, *args)
        readers.append(self)

    monkeypatch.setattr(trainers.stream, "_DECODE_THREADS", 1)
    monkeypatch.setattr(PieceReader, "__init__", kept)
    cfg = config(tmp_path / "data", standardize=False, val_fraction=0.0)
    _, train, _ = open_stream(cfg, context(tmp_path), CPU)
    try:
        feed = train.feed(0, 0, accum=1, thread=False)
        groups = iter(feed)
        first = next(groups)
        [reader] = [r for r in readers if r._joined.size]
        joined = reader._joined
        assert joined.size == 96 * 6  # one window of 96 rows x 6 features
        rest = sum(1 for _ in groups)
        assert 1 + rest == train.micro_batches
        assert reader._joined is joined  # never reallocated
        feed.close()
        del first
    finally:
        train.close()


def test_the_label_pass_reads_one_row_group_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file's whole target column grows with the data (99 MB for 12M int64 labels): the
    # label pass must never read it at once, and still see a class only the last group has.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from trainers.stream_stats import scan_labels

    (tmp_path / "data").mkdir()
    labels = np.array([0] * 250 + [1] * 49 + [7])
    table = pa.table({"f0": np.arange(300, dtype=np.float32), "label": labels})
    pq.write_table(table, tmp_path / "data" / "part.parquet", row_group_size=100)

    def whole_file(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read a whole column")

    monkeypatch.setattr(pq, "read_table", whole_file)
    cfg = config(tmp_path / "data")
    index = trainers.stream._index(tmp_path / "data", "label")
    found = scan_labels([index], cfg.data, cfg.model.kind)
    assert found.classes == ["0", "1", "7"]


def test_a_reader_keeps_only_a_few_files_open(tmp_path: Path) -> None:
    from trainers.stream_index import _OPEN_FILES

    write_parquet(tmp_path / "data", files=_OPEN_FILES + 3, rows=50, row_group=50)
    index = trainers.stream._index(tmp_path / "data", "label")
    reader = PieceReader(index, index.pieces)
    x, _ = reader.read(0, index.rows)  # every file, in order
    assert len(x) == index.rows
    assert len(reader._files) == _OPEN_FILES
    assert sorted(reader._files) == list(range(3, _OPEN_FILES + 3))  # the last ones used


def test_a_non_numeric_feature_column_is_one_line_naming_the_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "data").mkdir()
    table = pa.table({"f0": ["a", "b", "c", "d"], "label": [0, 1, 0, 1]})
    pq.write_table(table, tmp_path / "data" / "part.parquet")
    cfg = config(tmp_path / "data")  # standardize: the statistics pass reads the features
    with pytest.raises(DataError, match=r"part\.parquet: a feature column is not numeric"):
        open_stream(cfg, context(tmp_path), CPU)

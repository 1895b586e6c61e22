"""Under DDP a rank reads only its own shard of a csv, parquet or jsonl file: the rows,
split, order, classes and standardisation that cutting the whole load would give it
(``shard_dataset``), without ever holding the whole float32 array."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from trainers.config import DataConfig
from trainers.data import load_dataset
from trainers.data_shard import Shard, shard_dataset
from trainers.data_split import Dataset
from trainers.errors import DataError

pa = pytest.importorskip("pyarrow")
pacsv = pytest.importorskip("pyarrow.csv")
pq = pytest.importorskip("pyarrow.parquet")


def columns(rows: int, features: int, seed: int = 0) -> dict[str, Any]:
    """Features of different scales and offsets, a class label (names) and a number."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {
        f"f{j}": np.round(rng.normal(size=rows) * (j + 1) + 3 * j, 5) for j in range(features)
    }
    out["label"] = np.array(["cat", "dog", "eel"])[rng.integers(0, 3, rows)]
    out["y"] = np.round(rng.normal(size=rows), 5)
    return out


def write(source: str, path: Path, data: dict[str, Any], group: int = 70) -> Path:
    table = pa.table(data)
    if source == "csv":
        pacsv.write_csv(table, path)
    elif source == "parquet":
        pq.write_table(table, path, row_group_size=group)  # several pieces
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in table.to_pylist()))
    return path


def assert_same_shard(cut: Dataset, read: Dataset) -> None:
    torch.testing.assert_close(read.x_all, cut.x_all, rtol=1e-5, atol=1e-5)
    assert torch.equal(read.y_all, cut.y_all)
    assert (read.val_x is None) == (cut.val_x is None)
    if cut.val_x is not None and read.val_x is not None:
        torch.testing.assert_close(read.val_x, cut.val_x, rtol=1e-5, atol=1e-5)
        assert read.val_y is not None and cut.val_y is not None
        assert torch.equal(read.val_y, cut.val_y)
    assert (read.n_train, read.n_val, read.task, read.classes) == (
        cut.n_train,
        cut.n_val,
        cut.task,
        cut.classes,
    )
    assert (read.input_shape, read.num_outputs) == (cut.input_shape, cut.num_outputs)
    assert read.train_rows is None and read.val_rows is None
    if cut.mean is not None:
        np.testing.assert_allclose(read.mean, cut.mean, rtol=1e-10)
        np.testing.assert_allclose(read.std, cut.std, rtol=1e-10)
    else:
        assert read.mean is None and read.std is None


@pytest.mark.parametrize("source", ["csv", "parquet", "jsonl"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"limit": 250},
        {"standardize": False},
        {"target": "y", "task": "regression", "val_fraction": 0.3},
    ],
)
def test_each_rank_reads_the_rows_shard_dataset_would_cut(
    tmp_path: Path, source: str, options: dict[str, Any]
) -> None:
    data = columns(401, 4)
    target = options.get("target", "label")
    del data["y" if target == "label" else "label"]
    path = write(source, tmp_path / f"train.{source}", data)
    cfg = DataConfig(source=source, uri=str(path), **options)
    whole = load_dataset(cfg, seed=3)
    for world in (2, 3):
        for rank in range(world):
            cut, shard = shard_dataset(whole, rank, world)
            read = load_dataset(cfg, seed=3, share=(rank, world))
            assert_same_shard(cut, read)
            # setup.py hands it to shard_dataset like a whole load: it stays as read
            again, same = shard_dataset(read, rank, world)
            assert again is read and same == shard


@pytest.mark.parametrize("source", ["csv", "parquet"])
def test_pieces_copied_a_column_at_a_time_give_the_same_shard(
    tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large pieces (a Parquet row group of many rows) are copied by column, not by row."""
    import trainers.data_rank

    monkeypatch.setattr(trainers.data_rank, "_ROWS_BYTES", 0)
    data = columns(401, 4)
    del data["y"]
    cfg = DataConfig(source=source, uri=str(write(source, tmp_path / f"t.{source}", data)))
    whole = load_dataset(cfg, seed=5)
    for rank in (0, 1, 2):
        assert_same_shard(shard_dataset(whole, rank, 3)[0], load_dataset(cfg, 5, share=(rank, 3)))


def test_a_validation_channel_is_shared_out_like_the_training_file(tmp_path: Path) -> None:
    data = columns(300, 3)
    write("csv", tmp_path / "train.csv", {k: v[:200] for k, v in data.items()})
    write("csv", tmp_path / "val.csv", {k: v[200:] for k, v in data.items()})
    cfg = DataConfig(source="csv", uri=str(tmp_path / "train.csv"))
    whole = load_dataset(cfg, seed=1, val_dir=tmp_path / "val.csv")
    assert whole.n_val == 100
    for rank in (0, 1):
        read = load_dataset(cfg, seed=1, val_dir=tmp_path / "val.csv", share=(rank, 2))
        assert_same_shard(shard_dataset(whole, rank, 2)[0], read)


def test_blank_lines_and_carriage_returns_still_give_the_right_rows(tmp_path: Path) -> None:
    """A newline is not always a row: the count is checked by the parse, and redone."""
    data = columns(120, 3)
    header = ",".join(k for k in data if k != "y")
    rows = [",".join(str(data[k][i]) for k in data if k != "y") for i in range(120)]
    messy = tmp_path / "messy.csv"
    body = "\r\n".join(rows[:40]) + "\r\n\r\n\r\n" + "\r".join(rows[40:80]) + "\n\n"
    messy.write_bytes((header + "\n" + body + "\n".join(rows[80:])).encode())
    clean = tmp_path / "clean.csv"
    clean.write_text(header + "\n" + "\n".join(rows) + "\n")
    whole = load_dataset(DataConfig(source="csv", uri=str(clean)), seed=2)
    for rank in (0, 1, 2):
        read = load_dataset(DataConfig(source="csv", uri=str(messy)), seed=2, share=(rank, 3))
        assert_same_shard(shard_dataset(whole, rank, 3)[0], read)
    records = (write("jsonl", tmp_path / "clean.jsonl", data)).read_text().splitlines()
    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text("\n\n".join(records))  # blank lines between, no newline at the end
    whole = load_dataset(DataConfig(source="jsonl", uri=str(tmp_path / "clean.jsonl")), seed=2)
    for rank in (0, 1):
        read = load_dataset(DataConfig(source="jsonl", uri=str(spaced)), seed=2, share=(rank, 2))
        assert_same_shard(shard_dataset(whole, rank, 2)[0], read)


def test_labels_read_as_numbers_in_some_pieces_are_class_names_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each piece of a CSV is parsed on its own: one whose labels all look like numbers
    must not turn the label column into numbers (it failed with a TypeError before)."""
    import trainers.data_tabular

    monkeypatch.setattr(trainers.data_tabular, "_CSV_SEGMENT", 1 << 10)
    lines = [f"{i / 2},{i % 3}" for i in range(200)] + [f"{i / 2},c{i % 3}" for i in range(200)]
    path = tmp_path / "mixed.csv"
    path.write_text("a,label\n" + "\n".join(lines) + "\n")
    cfg = DataConfig(source="csv", uri=str(path))
    whole = load_dataset(cfg, seed=0)
    assert whole.classes == ["0", "1", "2", "c0", "c1", "c2"]
    for rank in (0, 1):
        assert_same_shard(shard_dataset(whole, rank, 2)[0], load_dataset(cfg, 0, share=(rank, 2)))


def test_bad_files_give_the_same_one_line_errors_to_a_rank(tmp_path: Path) -> None:
    (tmp_path / "text.csv").write_text("a,b,label\n1,x,0\n2,y,1\n")
    (tmp_path / "empty.csv").write_text("a,label\n")
    (tmp_path / "two.csv").write_text("a,label\n1,0\n2,1\n")
    (tmp_path / "holes.jsonl").write_text('{"a": 1, "label": 0}\n{"label": 1}\n')
    cases = [
        ("csv", "text.csv", {}, r"text.csv: column 'b' is not numeric"),
        ("csv", "text.csv", {"target": "y"}, r"data\.target: column 'y' not in"),
        ("csv", "empty.csv", {}, r"holds no CSV rows"),
        ("jsonl", "holes.jsonl", {}, r"column 'a' has empty values"),
        ("csv", "two.csv", {"val_fraction": 0.9}, r"no training rows left"),
    ]
    for source, name, options, message in cases:
        cfg = DataConfig(source=source, uri=str(tmp_path / name), **options)
        for share in ((0, 1), (1, 2)):
            with pytest.raises(DataError, match=message):
                load_dataset(cfg, seed=0, share=share)


@pytest.mark.parametrize("source", ["csv", "parquet"])
def test_a_rank_never_holds_the_whole_array(
    tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numpy's allocations are traced by tracemalloc: the largest the load ever held is
    well under the whole float32 array for rank 0 of 4, and over it for a whole load."""
    import trainers.data_rank
    import trainers.data_tabular

    # CSV: small pieces, so that a small file is many pieces, as a large file is with the
    # defaults; Parquet: the whole file in one row group, read a column at a time, as a
    # large row group is with the defaults
    monkeypatch.setattr(trainers.data_tabular, "_CSV_SEGMENT", 128 << 10)
    monkeypatch.setattr(trainers.data_rank, "_ROWS_BYTES", 0)
    rows, features = 40_000, 48
    data = columns(rows, features)
    del data["y"]
    path = write(source, tmp_path / f"big.{source}", data, group=rows)
    cfg = DataConfig(source=source, uri=str(path))
    whole_array = rows * features * 4

    def peak_of(share: tuple[int, int]) -> int:
        tracemalloc.start()
        try:
            dataset = load_dataset(cfg, seed=0, share=share)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        del dataset
        return peak

    assert peak_of((0, 1)) > whole_array  # the measurement sees a whole load
    assert peak_of((0, 4)) < 0.5 * whole_array


def test_other_sources_still_load_whole_and_are_cut_after() -> None:
    cfg = DataConfig(source="synthetic_regression", n_samples=50, n_features=2)
    read = load_dataset(cfg, seed=0, share=(1, 2))
    assert read.train_rows is not None and "loaded_shard" not in read.meta
    cut, shard = shard_dataset(read, 1, 2)
    assert shard == Shard(read.n_train, 1, 2) and cut.x_all.shape[0] == 20


@pytest.mark.slow
@pytest.mark.parametrize("batch_norm", [False, True])
def test_two_gloo_ranks_reading_their_shards_match_one_process(
    run_trainer, tmp_path, batch_norm: bool
) -> None:
    """The whole run: two ranks that each read half of a CSV train as one process does
    (with batch norm too: it normalises over the whole global micro-batch)."""
    from test_trainer_ddp import DDP_JOB, launch_ranks

    data = columns(400, 6)
    del data["y"]
    path = write("csv", tmp_path / "train.csv", data)
    job = {**DDP_JOB, "data": {"source": "csv", "uri": str(path)}}
    if batch_norm:
        job["model"] = {**job["model"], "batch_norm": True}
    # the same micro-batches: 16 rows, in 2 ranks x 8 below (batch norm sees micro-batches)
    code, single = run_trainer({**job, "batch_size": 16, "grad_accum_steps": 2}, name="single")
    assert code == 0
    launch_ranks(tmp_path / "ddp", 2, {**job, "batch_size": 8, "grad_accum_steps": 2})

    one = torch.load(single / "model" / "model_final.pt", weights_only=True)
    two = torch.load(tmp_path / "ddp" / "model" / "model_final.pt", weights_only=True)
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)

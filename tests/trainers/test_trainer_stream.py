"""data.mode: stream — Parquet read lazily: every row once per epoch, a bounded seeded
shuffle, disjoint rank shards, an order that resumes at the exact micro-batch (with
DataLoader workers too), statistics from one pass, and a run that trains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from stream_helpers import write_parquet
from trainer_helpers import read_summary, tiny

from trainers.config import TrainConfig
from trainers.context import RunContext
from trainers.errors import DataError
from trainers.stream import open_stream
from trainers.stream_plan import epoch_plan, resume_split

CPU = torch.device("cpu")


def config(uri: Path, **data: Any) -> TrainConfig:
    cfg = tiny(
        data={"source": "parquet", "uri": str(uri), "mode": "stream", "shuffle_buffer": 96, **data},
        batch_size=16,
    )
    return TrainConfig.model_validate(cfg)


def context(tmp_path: Path, rank: int = 0, world: int = 1) -> RunContext:
    return RunContext(
        platform="local",
        model_dir=tmp_path / "model",
        output_dir=tmp_path / "out",
        checkpoint_dir=tmp_path / "ckpt",
        rank=rank,
        world_size=world,
    )


def batches(cfg: TrainConfig, tmp_path: Path, epoch: int, start: int = 0, **kw: Any) -> list[Any]:
    _, train, _ = open_stream(cfg, context(tmp_path, **kw), CPU)
    feed = train.feed(epoch, start, accum=1, thread=False)
    try:
        return [group[0] for group in feed]
    finally:
        feed.close()
        train.close()


def rows_of(got: list[Any]) -> np.ndarray:
    return torch.cat([x for x, _ in got]).numpy()


def test_an_epoch_streams_every_training_row_once_in_a_seeded_shuffled_order(
    tmp_path: Path,
) -> None:
    x, _ = write_parquet(tmp_path / "data")
    cfg = config(tmp_path / "data", standardize=False)
    first = rows_of(batches(cfg, tmp_path, epoch=0))
    n_train = len(x) - round(len(x) * 0.2)  # the last 20 % in file order validate
    assert sorted(map(tuple, first)) == sorted(map(tuple, x[:n_train]))
    assert not np.array_equal(first, x[:n_train])  # shuffled
    assert np.array_equal(first, rows_of(batches(cfg, tmp_path, epoch=0)))  # seeded
    assert not np.array_equal(first, rows_of(batches(cfg, tmp_path, epoch=1)))  # per epoch


def test_the_shuffle_window_bounds_how_far_a_row_moves(tmp_path: Path) -> None:
    x, _ = write_parquet(tmp_path / "data", files=1, rows=2000, row_group=2000)
    cfg = config(tmp_path / "data", standardize=False, val_fraction=0.0)
    got = rows_of(batches(cfg, tmp_path, epoch=0))
    # One row group: the piece order cannot move rows, so each row stays in its window.
    window = 96
    position = {tuple(r): i for i, r in enumerate(x)}
    for i, row in enumerate(got):
        assert position[tuple(row)] // window == i // window


def test_ranks_read_disjoint_equal_shards(tmp_path: Path) -> None:
    x, _ = write_parquet(tmp_path / "data")
    cfg = config(tmp_path / "data", standardize=False, val_fraction=0.0)
    shards = [rows_of(batches(cfg, tmp_path, epoch=0, rank=r, world=2)) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == len(x) // 2
    seen = [tuple(r) for shard in shards for r in shard]
    assert len(set(seen)) == len(seen) == len(x)


@pytest.mark.parametrize(("workers", "threads"), [(0, 1), (0, 3), (2, 1)])
def test_a_restart_resumes_at_the_exact_micro_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, threads: int
) -> None:
    import trainers.stream

    write_parquet(tmp_path / "data")
    cfg = config(tmp_path / "data", workers=workers)
    whole = batches(cfg, tmp_path, epoch=1)
    # Decoding windows on several threads changes nothing in the order.
    monkeypatch.setattr(trainers.stream, "_DECODE_THREADS", threads)
    assert len(whole) == epoch_plan(1680, 0, 1, 96, 16, max(1, workers)).micro_batches
    for start in (1, 7, len(whole) - 1):
        tail = batches(cfg, tmp_path, epoch=1, start=start)
        assert len(tail) == len(whole) - start
        for (xa, ya), (xb, yb) in zip(whole[start:], tail, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_resume_split_follows_the_round_robin_that_skips_exhausted_readers() -> None:
    counts = [3, 1, 2]
    order = []  # the reader of each batch, as a DataLoader hands them out
    given = [0, 0, 0]
    while sum(given) < sum(counts):
        for k in range(3):
            if given[k] < counts[k]:
                order.append(k)
                given[k] += 1
    for consumed in range(sum(counts)):
        done, following = resume_split(counts, consumed)
        assert done == [order[:consumed].count(k) for k in range(3)]
        assert following == order[consumed]


def test_statistics_come_from_one_pass_or_from_the_spec(tmp_path: Path) -> None:
    x, _ = write_parquet(tmp_path / "data", labels="str")
    info, _, val = open_stream(config(tmp_path / "data"), context(tmp_path), CPU)
    n_train = len(x) - round(len(x) * 0.2)
    np.testing.assert_allclose(info.mean or [], x[:n_train].mean(0), rtol=1e-5)
    np.testing.assert_allclose(info.std or [], x[:n_train].std(0), rtol=1e-5)
    assert (info.task, info.classes, info.num_outputs) == ("classification", ["no", "yes"], 2)
    assert val is not None and val.n == len(x) - n_train

    given = {"mean": [1.0] * 6, "std": [2.0] * 6}
    info, train, _ = open_stream(config(tmp_path / "data", stats=given), context(tmp_path), CPU)
    assert info.mean == [1.0] * 6
    feed = train.feed(0, 0, accum=1, thread=False)
    first = next(iter(feed))[0][0]
    feed.close()
    assert first.dtype == torch.float32
    assert any(np.allclose(row, (r - 1.0) / 2.0) for r in x[:n_train] for row in first[:1].numpy())


def test_stats_for_another_width_name_the_field(tmp_path: Path) -> None:
    write_parquet(tmp_path / "data")
    cfg = config(tmp_path / "data", stats={"mean": [0.0], "std": [1.0]})
    with pytest.raises(DataError, match=r"data\.stats: 1 values for 6 feature columns"):
        open_stream(cfg, context(tmp_path), CPU)


def test_a_streamed_run_trains_and_records_its_standardisation(run_trainer, tmp_path) -> None:
    write_parquet(tmp_path / "data")
    cfg = config(tmp_path / "data", workers=1).model_dump(mode="json")
    cfg.update(epochs=3, optimizer={"name": "adam", "lr": 0.05})
    code, run = run_trainer(cfg)
    assert code == 0
    summary = read_summary(run)
    assert summary["final"]["val_accuracy"] > 0.9
    import json

    model = json.loads((run / "model" / "model.json").read_text())
    assert len(model["standardize"]["mean"]) == 6
    assert model["classes"] == ["0", "1"]


@pytest.mark.slow
def test_a_streamed_run_killed_mid_epoch_resumes_to_bit_identical_weights(
    run_trainer, tmp_path: Path
) -> None:
    import json
    import signal
    import subprocess
    import sys

    from test_trainer_resume import assert_same_run, wait_for_checkpoint
    from trainer_helpers import subprocess_env

    from trainers.checkpoint import list_checkpoints

    write_parquet(tmp_path / "data")
    # Dropout, a schedule, a DataLoader worker and checkpoints inside epochs: a wrong
    # data position, RNG state or reader split would change the weights.
    cfg = config(tmp_path / "data", workers=1).model_dump(mode="json")
    cfg.update(
        model={"kind": "mlp", "hidden": [32], "dropout": 0.2},
        optimizer={"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
        schedule={"name": "warmup_cosine", "warmup_steps": 20},
        epochs=4,
        batch_size=8,
        checkpoint={"every_steps": 25, "keep_last": 2},
        log_every_steps=10,
    )
    code, reference = run_trainer(cfg, name="reference")
    assert code == 0
    steps = read_summary(reference)["steps"]  # 4 epochs of 210 micro-batches

    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "job.json").write_text(json.dumps(cfg))
    args = ["--config", "job.json", "--model-dir", "model", "--output-dir", "out"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainers", *args, "--checkpoint-dir", "ckpt"],
        cwd=killed,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_for_checkpoint(proc, killed / "ckpt", 300)  # inside the second epoch
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    last = list_checkpoints(killed / "ckpt")[-1][0]
    assert last < steps and last % 210 != 0
    code, _ = run_trainer(cfg, name="killed")
    assert code == 0
    assert read_summary(killed)["resumed_from_step"] >= last
    assert_same_run(reference, killed)


@pytest.mark.slow
def test_two_gloo_ranks_stream_their_own_shards_with_shared_statistics(tmp_path: Path) -> None:
    import json

    from test_trainer_ddp import launch_ranks

    x, _ = write_parquet(tmp_path / "data")
    cfg = config(tmp_path / "data", workers=1).model_dump(mode="json")
    cfg.update(epochs=2)
    launch_ranks(tmp_path / "ddp", 2, cfg)
    summary = read_summary(tmp_path / "ddp")
    assert summary["stopped_reason"] == "completed"
    # 1,680 training rows: 840 per rank, 53 micro-batches of 16 per epoch.
    assert summary["steps"] == 2 * 53
    model = json.loads((tmp_path / "ddp" / "model" / "model.json").read_text())
    # The statistics are all-reduced over both ranks' halves: those of all training rows.
    np.testing.assert_allclose(model["standardize"]["mean"], x[:1680].mean(0), rtol=1e-5)


def test_data_limit_streams_only_the_first_rows_in_file_order(tmp_path: Path) -> None:
    x, _ = write_parquet(tmp_path / "data")
    cfg = config(tmp_path / "data", standardize=False, limit=300)
    info, _, _ = open_stream(cfg, context(tmp_path), CPU)
    assert (info.n_train, info.n_val) == (240, 60)
    got = rows_of(batches(cfg, tmp_path, epoch=0))
    assert sorted(map(tuple, got)) == sorted(map(tuple, x[:240]))


@pytest.mark.parametrize(
    ("data", "mode"),
    [
        ({"source": "parquet", "uri": "d"}, "download"),
        ({"source": "parquet", "uri": "d", "size_gb": 2}, "download"),
        ({"source": "parquet", "uri": "d", "size_gb": 8}, "stream"),
        ({"source": "csv", "uri": "d", "size_gb": 500}, "download"),  # not streamable
        ({"source": "parquet", "uri": "d", "size_gb": 500, "mode": "download"}, "download"),
        ({"source": "parquet", "uri": "d", "mode": "stream"}, "stream"),
    ],
)
def test_mode_auto_streams_a_parquet_source_that_says_it_is_big(
    data: dict[str, Any], mode: str
) -> None:
    from trainers.config_data import DataConfig, resolved_mode

    assert resolved_mode(DataConfig.model_validate(data)) == mode


def test_a_reader_returns_any_run_of_rows_across_row_groups(tmp_path: Path) -> None:
    from trainers.stream_index import ParquetIndex, PieceReader, parquet_files

    x, y = write_parquet(tmp_path / "data", files=2, rows=300, row_group=64)
    index = ParquetIndex(parquet_files(tmp_path / "data"), "label")
    reader = PieceReader(index, index.pieces)
    # Runs inside one row group, across two, across several files' groups, back again:
    # the reader reuses one row group buffer, so each run is checked before the next read.
    for start, stop in [(0, 10), (5, 64), (60, 70), (100, 400), (10, 20), (590, 600)]:
        got_x, got_y = reader.read(start, stop)
        assert np.array_equal(got_x, x[start:stop]) and np.array_equal(got_y, y[start:stop])

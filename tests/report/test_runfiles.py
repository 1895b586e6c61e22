"""Reading the trainer's metrics.jsonl/summary.json back, as a report does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cloudgd.report.runfiles import (
    NoMetricsError,
    extract_run_files,
    load_run,
    parse_records,
    split_records,
)
from tests.report.conftest import tar_gz, trainer_records, write_output


def test_records_split_into_steps_and_epochs_in_step_order(tmp_path: Path) -> None:
    records = trainer_records(epochs=2, steps_per_epoch=4)
    run = load_run(write_output(tmp_path / "out", records), "job")
    assert [r["step"] for r in run.steps] == [2, 4, 6, 8]
    assert [r["step"] for r in run.epochs] == [4, 8]
    assert run.summary is not None and run.summary["steps"] == 8
    assert run.task == "classification"


def test_a_torn_last_line_and_non_finite_values_are_read_as_the_trainer_meant() -> None:
    text = (
        '{"kind": "step", "step": 1, "loss": "nan", "grad_norm": "inf"}\n'
        '{"kind": "step", "step": 2, "loss": 0.5}\n'
        '{"kind": "step", "step": 3, "lo'
    )
    records = parse_records(text)
    assert [r["step"] for r in records] == [1, 2]
    assert math.isnan(records[0]["loss"]) and records[0]["grad_norm"] == math.inf


def test_a_resumed_run_keeps_the_last_record_of_each_step() -> None:
    steps, _ = split_records(
        [
            {"kind": "step", "step": 10, "loss": 1.0},
            {"kind": "step", "step": 20, "loss": 0.9},
            {"kind": "step", "step": 10, "loss": 0.8},
        ]
    )
    assert [(r["step"], r["loss"]) for r in steps] == [(10, 0.8), (20, 0.9)]


def test_a_run_with_no_metrics_yet_says_so_and_how_to_follow_it(tmp_path: Path) -> None:
    with pytest.raises(NoMetricsError) as raised:
        load_run(tmp_path / "empty", "digits-mlp-1", where="digits-mlp-1 (RUNNING)")
    assert "digits-mlp-1 (RUNNING): no metrics yet" in raised.value.message
    assert raised.value.hint is not None and "cloudgd logs --follow" in raised.value.hint


def test_run_files_come_out_of_a_sagemaker_output_archive_and_nothing_else(tmp_path: Path) -> None:
    archive = tmp_path / "output.tar.gz"
    archive.write_bytes(
        tar_gz(
            {
                "./metrics.jsonl": b'{"kind": "step", "step": 1, "loss": 1.0}\n',
                "summary.json": json.dumps({"steps": 1}).encode(),
                "../../escape/summary.json": b"{}",  # a second copy never overwrites the first
                "tensorboard/events.out": b"x",
            }
        )
    )
    dest = tmp_path / "fetched"
    (dest / "metrics.jsonl").parent.mkdir()
    (dest / "metrics.jsonl").write_text("stale")
    assert extract_run_files(archive, dest) == ["metrics.jsonl", "summary.json"]
    assert sorted(p.name for p in dest.iterdir()) == ["metrics.jsonl", "summary.json"]
    assert json.loads((dest / "summary.json").read_text()) == {"steps": 1}
    assert not (tmp_path / "escape").exists()

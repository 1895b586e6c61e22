"""Whole runs: what a job leaves behind, exit codes, and the digits benchmark answer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from trainer_helpers import read_metrics, read_summary, subprocess_env, tiny

REPO = Path(__file__).resolve().parents[2]


def test_a_run_writes_metrics_summary_model_and_checkpoints(run_trainer) -> None:
    code, run = run_trainer(tiny())
    assert code == 0
    records = read_metrics(run)
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert len(epochs) == 2
    assert {"step", "epoch", "loss", "lr", "grad_norm", "samples_per_sec"} <= set(steps[0])
    assert {"val_loss", "val_accuracy", "loss", "lr"} <= set(epochs[-1])
    summary = read_summary(run)
    assert summary["stopped_reason"] == "completed"
    assert summary["steps"] == epochs[-1]["step"] == 10  # 160 train rows / 32 per batch x 2
    assert summary["world_size"] == 1 and summary["device"] == "cpu"
    assert summary["final"]["val_accuracy"] == epochs[-1]["val_accuracy"]
    meta = json.loads((run / "model" / "model.json").read_text())
    assert meta["input_shape"] == [8] and meta["output_shape"] == [2]
    assert meta["task"] == "classification" and meta["weights"] in ("best", "final")
    state = torch.load(run / "model" / "model.pt", weights_only=True)
    assert set(state) == {"1.0.weight", "1.0.bias", "2.weight", "2.bias"}
    # one checkpoint per epoch, the last two kept
    assert sorted(p.name for p in (run / "ckpt").glob("ckpt-*.pt")) == [
        "ckpt-000000005.pt",
        "ckpt-000000010.pt",
    ]


def test_a_finished_run_restarted_is_a_no_op(run_trainer) -> None:
    code, run = run_trainer(tiny())
    first = (run / "out" / "metrics.jsonl").read_text()
    code2, _ = run_trainer(tiny())
    assert (code, code2) == (0, 0)
    assert (run / "out" / "metrics.jsonl").read_text() == first
    assert read_summary(run)["resumed_from_step"] == 10


def test_resume_with_another_model_is_refused(run_trainer) -> None:
    assert run_trainer(tiny())[0] == 0
    code, _ = run_trainer(tiny(model={"hidden": [8]}))
    assert code == 2


def test_bad_config_and_missing_data_exit_codes(run_trainer, capsys) -> None:
    code, _ = run_trainer(tiny(optimizer={"name": "nope"}))
    assert code == 2
    code, _ = run_trainer(tiny(data={"source": "csv", "uri": "/nonexistent/train.csv"}))
    assert code == 3
    code, _ = run_trainer(tiny(), "--set", "optimizer.learning_rate=0.1")
    assert code == 2
    code, _ = run_trainer(tiny(data={"source": "text_csv", "uri": "x.csv"}))
    assert code == 2
    assert "huggingface and data.source=text_csv go together" in capsys.readouterr().err


def test_sagemaker_failure_file_is_written(run_trainer, monkeypatch, tmp_path: Path) -> None:
    base = tmp_path / "opt" / "ml"
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(base))
    code, _ = run_trainer(tiny(data={"source": "npz", "uri": "/nonexistent/x.npz"}))
    assert code == 3
    assert "not found" in (base / "output" / "failure").read_text()


@pytest.mark.slow
def test_digits_mlp_reaches_95_percent_via_the_cli(tmp_path: Path) -> None:
    """`python -m trainers` as a cloud runs it; stdout matches SageMaker metric regexes."""
    spec = tmp_path / "job.yaml"
    spec.write_text(
        "name: digits\n"
        "trainer:\n"
        "  model: {kind: mlp, hidden: [128, 64]}\n"
        "  data: {source: digits}\n"
        "  optimizer: {name: adamw, lr: 0.003, weight_decay: 0.01}\n"
        "  schedule: {name: warmup_cosine, warmup_steps: 20}\n"
        "  epochs: 12\n"
        "  batch_size: 64\n"
        "  num_threads: 1\n"
    )
    env = subprocess_env()
    proc = subprocess.run(
        [sys.executable, "-m", "trainers", "--config", str(spec)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "outputs" / "summary.json").read_text())
    assert summary["final"]["val_accuracy"] >= 0.95
    assert (tmp_path / "outputs" / "model" / "model.pt").is_file()
    losses = re.findall(r"\bloss=([0-9.eE+-]+)", proc.stdout)
    accs = re.findall(r"val_accuracy=([0-9.eE+-]+)", proc.stdout)
    assert len(losses) >= 12 and len(accs) == 12
    assert float(accs[-1]) == pytest.approx(summary["final"]["val_accuracy"], abs=1e-5)

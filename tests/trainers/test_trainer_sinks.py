"""Metric outputs: stdout regexes, Vertex hypertune file, TensorBoard, MLflow on Azure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from trainer_helpers import read_metrics, tiny

from trainers.metrics import human_line, truncate_lines
from trainers.sinks import HypertuneSink

# What the cloudgd AWS provider would put in MetricDefinitions.
SAGEMAKER_REGEXES = {
    "loss": r"\bloss=([0-9.eE+-]+)",
    "val_loss": r"val_loss=([0-9.eE+-]+)",
    "val_accuracy": r"val_accuracy=([0-9.eE+-]+)",
}


def test_human_lines_match_metric_definitions() -> None:
    line = human_line(
        {"kind": "epoch", "step": 40, "epoch": 2, "loss": 1.5e-05, "val_loss": 0.25, "lr": 0.001}
    )
    assert line == "[epoch] step=40 epoch=2 loss=1.5e-05 val_loss=0.25 lr=0.001"
    assert re.search(SAGEMAKER_REGEXES["loss"], line).group(1) == "1.5e-05"  # type: ignore[union-attr]
    assert re.search(SAGEMAKER_REGEXES["val_loss"], line).group(1) == "0.25"  # type: ignore[union-attr]


def test_hypertune_file_follows_the_cloudml_hypertune_format(tmp_path: Path) -> None:
    path = tmp_path / "hypertune" / "output.metrics"
    sink = HypertuneSink(path, "3", ("val_accuracy",))
    for step in range(1, 106):
        sink.write({"kind": "epoch", "step": step, "val_accuracy": step / 1000, "val_loss": 1.0})
    sink.write({"kind": "step", "step": 200, "val_accuracy": 9.0})  # step records are ignored
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 100  # the last 100 entries, as cloudml-hypertune keeps
    last = lines[-1]
    assert set(last) == {"timestamp", "trial", "val_accuracy", "global_step"}
    assert (last["trial"], last["val_accuracy"], last["global_step"]) == ("3", "0.105", "105")
    assert list(json.loads(path.read_text().splitlines()[0])) == sorted(last)


def test_vertex_trial_writes_the_hypertune_file(run_trainer, monkeypatch, tmp_path) -> None:
    metric_file = tmp_path / "hp" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "12")
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(metric_file))
    monkeypatch.setenv("CLOUDGD_HP_METRIC", "val_loss")
    code, run = run_trainer(tiny())
    assert code == 0
    entries = [json.loads(line) for line in metric_file.read_text().splitlines()]
    epochs = [r for r in read_metrics(run) if r["kind"] == "epoch"]
    assert [e["global_step"] for e in entries] == [str(r["step"]) for r in epochs]
    assert float(entries[-1]["val_loss"]) == pytest.approx(epochs[-1]["val_loss"])
    assert {e["trial"] for e in entries} == {"12"}


def test_tensorboard_events_are_written(run_trainer, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = tmp_path / "tb"
    code, _ = run_trainer(tiny(), "--tensorboard-dir", str(tb))
    assert code == 0
    acc = EventAccumulator(str(tb))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "epoch/val_loss", "epoch/val_accuracy"} <= set(tags)
    assert [e.step for e in acc.Scalars("epoch/val_loss")] == [5, 10]


def test_azure_ml_runs_log_to_mlflow(run_trainer, monkeypatch, tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    store = tmp_path / "mlruns"
    monkeypatch.setenv("AZUREML_RUN_ID", "run-1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{store}")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a local stand-in for the workspace
    code, _ = run_trainer(tiny())
    assert code == 0
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert len(runs) == 1
    history = mlflow.tracking.MlflowClient().get_metric_history(runs[0].info.run_id, "val_loss")
    assert [m.step for m in history] == [5, 10]


def test_resume_drops_metrics_logged_after_the_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 2}\n{"ste')
    truncate_lines(path, 2)
    assert path.read_text() == '{"step": 1}\n{"step": 2}\n'
    path.write_text('{"step": 1}\n{"ste')
    truncate_lines(path, 5)
    assert path.read_text() == '{"step": 1}\n'

"""Metric records: ``metrics.jsonl``, human stdout lines, and the optional sinks.

Every record goes to ``<output>/metrics.jsonl`` (one JSON object per line) and to
stdout as ``key=value`` pairs, so SageMaker MetricDefinitions such as
``loss=([0-9.eE+-]+)`` can read them. Only rank 0 writes.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from trainers.sinks import (
    HP_DEFAULT_TAGS,
    HypertuneSink,
    MlflowSink,
    Sink,
    TensorBoardSink,
    try_sink,
)

METRICS_NAME = "metrics.jsonl"
SUMMARY_NAME = "summary.json"
# Order of keys in the human line: loss first so a bare `loss=` regex matches it.
_LINE_ORDER = (
    "step",
    "epoch",
    "loss",
    "val_loss",
    "val_accuracy",
    "val_mse",
    "val_r2",
    "lr",
    "grad_norm",
    "samples_per_sec",
    "data_wait",
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def human_line(record: dict[str, Any]) -> str:
    """``[epoch] step=10 epoch=1 loss=0.1234 ...``; non-finite values print as nan/inf."""
    keys = [k for k in _LINE_ORDER if record.get(k) is not None]
    tag = "[epoch]" if record.get("kind") == "epoch" else "[step]"
    return tag + " " + " ".join(f"{k}={_fmt(record[k])}" for k in keys)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # strict JSON has no NaN/Infinity
    return value


def truncate_lines(path: Path, keep: int) -> None:
    """Keep the first ``keep`` records: those logged before the checkpoint a run resumes
    from (the resumed run logs the rest again, so nothing is duplicated or lost)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines()[:keep]:
        try:
            json.loads(line)
        except ValueError:
            break  # a half-written last line from a killed process
        kept.append(line + "\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    tmp.replace(path)


class MetricsLogger:
    """Fans each record out to the jsonl file, stdout and the optional sinks."""

    def __init__(self, output_dir: Path, enabled: bool, sinks: list[Sink] | None = None) -> None:
        self.enabled = enabled
        self.sinks = list(sinks or [])
        self.path = output_dir / METRICS_NAME
        self._fh = None
        self.lines = 0  # records in the file, saved in checkpoints
        if enabled:
            output_dir.mkdir(parents=True, exist_ok=True)
            if self.path.is_file():
                self.lines = len(self.path.read_text(encoding="utf-8").splitlines())
            self._fh = self.path.open("a", encoding="utf-8")

    def log(self, record: dict[str, Any]) -> None:
        """Write one step or epoch record everywhere."""
        if not self.enabled:
            return
        assert self._fh is not None
        self._fh.write(json.dumps({k: _clean(v) for k, v in record.items()}) + "\n")
        self._fh.flush()
        self.lines += 1
        print(human_line(record), flush=True)
        for sink in self.sinks:
            sink.write(record)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:  # a sink must never fail the run at the end
                print(f"warning: closing a metrics sink failed: {exc}", file=sys.stderr)
        self.sinks = []


def build_sinks(
    *,
    tensorboard_dir: Path | None,
    hp_metric_file: Path | None,
    trial_id: str | None,
    use_mlflow: bool,
    resumed_step: int | None,
) -> list[Sink]:
    """The optional sinks this platform asks for and this image can provide."""
    sinks: list[Sink] = []
    if tensorboard_dir is not None:
        purge = resumed_step + 1 if resumed_step is not None else None
        sink = try_sink("TensorBoard", TensorBoardSink, tensorboard_dir, purge)
        if sink is not None:
            sinks.append(sink)
    if hp_metric_file is not None:
        tags_env = os.environ.get("CLOUDGD_HP_METRIC", "")
        tags = tuple(t.strip() for t in tags_env.split(",") if t.strip()) or HP_DEFAULT_TAGS
        hp = try_sink("hypertune", HypertuneSink, hp_metric_file, trial_id, tags)
        if hp is not None:
            sinks.append(hp)
    if use_mlflow:
        ml = try_sink("MLflow", MlflowSink)
        if ml is not None:
            sinks.append(ml)
    return sinks


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps({k: _clean(v) for k, v in data.items()}, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    tmp.replace(path)

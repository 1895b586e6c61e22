"""Read what the trainer leaves in its output dir: ``metrics.jsonl`` and ``summary.json``.

A record per line: ``kind="step"`` (step, epoch, loss, lr, grad_norm,
samples_per_sec) or ``kind="epoch"`` (step, epoch, loss, val_loss, val_accuracy or
val_mse/val_r2, lr). Non-finite numbers are written as strings ("nan", "inf")
because strict JSON has none; they come back as floats. A half-written last line
(the file of a running or killed job) is skipped, and a step logged twice (a
resumed run) keeps its last record.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudgd.errors import CloudgdError

METRICS_NAME = "metrics.jsonl"
SUMMARY_NAME = "summary.json"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class NoMetricsError(CloudgdError):
    """A run has not written any metrics (yet): nothing to report on. Exit code 3."""

    exit_code = 3


class EndedWithoutMetricsError(NoMetricsError):
    """The job ended FAILED or CANCELLED before its trainer logged a metric. Exit code 4."""

    exit_code = 4


@dataclass(frozen=True)
class RunData:
    """One run's logged records and final summary, as read from its files."""

    label: str
    steps: tuple[dict[str, Any], ...]
    epochs: tuple[dict[str, Any], ...]
    summary: dict[str, Any] | None = None
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str | None:
        """classification / regression, from the summary or the logged metric names."""
        if self.summary and isinstance(self.summary.get("task"), str):
            return str(self.summary["task"])
        keys = {k for record in self.epochs for k in record}
        if "val_accuracy" in keys:
            return "classification"
        if keys & {"val_r2", "val_mse"}:
            return "regression"
        return None


def _number(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in _NON_FINITE:
        return _NON_FINITE[value.lower()]
    return value


def _numbers(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    return {
        f"{prefix}{k}": float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def summary_metrics(path: Path) -> dict[str, float]:
    """Final metrics from the trainer's summary.json: top-level numbers, ``final``
    numbers as they are, ``best`` numbers prefixed ``best_``."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    metrics = _numbers(data)
    for key, prefix in (("metrics", ""), ("final", ""), ("best", "best_")):
        if isinstance(data.get(key), dict):
            metrics.update(_numbers(data[key], prefix))
    return metrics


def parse_records(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a metrics.jsonl text; torn or foreign lines skipped."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line the trainer was writing when it (or the copy) stopped
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append({k: _number(v) for k, v in record.items()})
    return records


def _last_per_step(records: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    by_step: dict[int, dict[str, Any]] = {}
    for record in records:
        by_step[record["step"]] = record
    return tuple(by_step[s] for s in sorted(by_step))


def split_records(
    records: list[dict[str, Any]],
) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """(step records, epoch records), each sorted by step with one record per step."""
    steps = [r for r in records if r.get("kind", "step") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    return _last_per_step(steps), _last_per_step(epochs)


def read_summary(path: Path) -> dict[str, Any] | None:
    """summary.json as a dict, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_run(directory: Path, label: str, *, where: str | None = None) -> RunData:
    """The run whose trainer output dir is ``directory``.

    Raises NoMetricsError when neither file holds anything yet; ``where`` names
    the run in that message (a handle reads better than a cache path).
    """
    metrics = directory / METRICS_NAME
    try:
        text = metrics.read_text(encoding="utf-8")
    except OSError:
        text = ""
    steps, epochs = split_records(parse_records(text))
    summary = read_summary(directory / SUMMARY_NAME)
    if not steps and not epochs:
        raise NoMetricsError(
            f"{where or label}: no metrics yet ({metrics} has no records)",
            hint="the trainer writes metrics.jsonl from its first logged step "
            "(trainer.log_every_steps); try again once the job is running, or follow it "
            "with `cloudgd logs --follow HANDLE`",
        )
    return RunData(label=label, steps=steps, epochs=epochs, summary=summary, source=str(directory))


RUN_FILES = (METRICS_NAME, SUMMARY_NAME)


def clear_run_files(dest: Path) -> None:
    """Create ``dest`` and drop copies of a previous fetch, so stale files never mix in."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        (dest / name).unlink(missing_ok=True)


def extract_run_files(archive: Path, dest: Path) -> list[str]:
    """Copy metrics.jsonl and summary.json out of a tar(.gz) into ``dest``; their names.

    SageMaker packs the trainer's output dir into ``output.tar.gz``. Only regular
    files whose base name is one of :data:`RUN_FILES` are read (wherever they sit
    in the archive), and written under ``dest`` by that base name alone, so no
    member can write outside ``dest``.
    """
    import tarfile

    clear_run_files(dest)
    found: list[str] = []
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if not member.isfile() or name not in RUN_FILES or name in found:
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            with source:
                (dest / name).write_bytes(source.read())
            found.append(name)
    return sorted(found)

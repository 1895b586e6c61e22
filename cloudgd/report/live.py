"""Read training progress from the trainer's log lines as they stream (pure, no rich).

The trainer prints one line per logged step and per epoch
(``[step] step=10 epoch=1 loss=0.52 lr=0.003 grad_norm=0.4 samples_per_sec=4e4``,
``[epoch] step=23 epoch=1 loss=0.5 val_loss=0.4 val_accuracy=0.9 lr=0.003``),
possibly behind a prefix the platform adds (a timestamp, ``[rank0]``, a worker
name). A metrics.jsonl line (a JSON object with ``kind``) is read the same way.
Steps per epoch are learned from the first epoch record, which turns the epoch
bar into a step bar with an ETA.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

_RECORD = re.compile(r"\[(step|epoch)\]\s+(.*)$")
_PAIR = re.compile(r"(\w+)=(\S+)")
_VAL_METRICS = ("val_accuracy", "val_r2", "val_mse")


def _value(text: str) -> float | int | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def parse_metrics_line(line: str) -> dict[str, float | int | str] | None:
    """The record a trainer log line carries, or None for any other line."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            return None
        if isinstance(data, dict) and data.get("kind") in ("step", "epoch") and "step" in data:
            return {k: v for k, v in data.items() if isinstance(v, int | float | str)}
        return None
    match = _RECORD.search(stripped)
    if match is None:
        return None
    record: dict[str, float | int | str] = {"kind": match.group(1)}
    for key, text in _PAIR.findall(match.group(2)):
        value = _value(text)
        if value is not None:
            record[key] = value
    return record if isinstance(record.get("step"), int) else None


@dataclass
class TrainingProgress:
    """The latest numbers of a run being followed."""

    total_epochs: int | None = None
    step: int | None = None
    epoch: int | None = None  # the epoch in progress (1-based) or last finished
    epochs_done: int = 0
    steps_per_epoch: int | None = None
    loss: float | None = None
    val_loss: float | None = None
    val_metric: tuple[str, float] | None = None
    lr: float | None = None
    samples_per_sec: float | None = None
    records: int = 0
    _first: tuple[float, int] | None = field(default=None, repr=False)
    _last_time: float | None = field(default=None, repr=False)

    def update(self, record: dict[str, float | int | str], now: float) -> None:
        """Fold one parsed record in; ``now`` is a monotonic clock reading."""
        self.records += 1
        step = int(record["step"])
        self.step = step
        if self._first is None:
            self._first = (now, step)
        self._last_time = now
        if isinstance(record.get("epoch"), int):
            self.epoch = int(record["epoch"])
        loss = record.get("loss")
        if isinstance(loss, int | float):
            self.loss = float(loss)
        lr = record.get("lr")
        if isinstance(lr, int | float):
            self.lr = float(lr)
        if record.get("kind") == "step":
            rate = record.get("samples_per_sec")
            if isinstance(rate, int | float):
                self.samples_per_sec = float(rate)
            return
        self.epochs_done = max(self.epochs_done, self.epoch or 0)
        if self.steps_per_epoch is None and self.epochs_done == 1 and step > 0:
            self.steps_per_epoch = step
        val = record.get("val_loss")
        if isinstance(val, int | float):
            self.val_loss = float(val)
        for name in _VAL_METRICS:
            value = record.get(name)
            if isinstance(value, int | float):
                self.val_metric = (name, float(value))
                break

    @property
    def total_steps(self) -> int | None:
        if self.total_epochs and self.steps_per_epoch:
            return self.total_epochs * self.steps_per_epoch
        return None

    def fraction(self) -> float | None:
        """How far the run is, 0..1: by steps once known, else by finished epochs."""
        if self.total_steps and self.step is not None:
            return min(1.0, self.step / self.total_steps)
        if self.total_epochs:
            return min(1.0, self.epochs_done / self.total_epochs)
        return None

    def eta_seconds(self) -> float | None:
        """Seconds left at the step rate seen so far (early stopping may end sooner)."""
        total = self.total_steps
        if total is None or self._first is None or self._last_time is None or self.step is None:
            return None
        t0, s0 = self._first
        done = self.step - s0
        if done <= 0 or self._last_time <= t0:
            return None
        left = max(0, total - self.step)
        eta = (self._last_time - t0) / done * left
        return eta if math.isfinite(eta) else None


def format_metric(name: str, value: float) -> str:
    """``val_accuracy 97.2%``; other metrics with 4 significant digits."""
    if name == "val_accuracy":
        return f"{name} {value * 100:.1f}%"
    return f"{name} {value:.4g}"


def metrics_text(p: TrainingProgress) -> str:
    """One line of the current numbers, for people: ``loss 0.0123 · val_loss ...``."""
    parts = []
    if p.loss is not None:
        parts.append(f"loss {p.loss:.4g}")
    if p.val_loss is not None:
        parts.append(f"val_loss {p.val_loss:.4g}")
    if p.val_metric is not None:
        parts.append(format_metric(*p.val_metric))
    if p.lr is not None:
        parts.append(f"lr {p.lr:.2e}")
    if p.samples_per_sec is not None:
        parts.append(f"{p.samples_per_sec:,.0f} samples/s")
    return " · ".join(parts)

"""The series a report plots, taken from a run's records (pure, no matplotlib).

Every series uses the optimizer step as its x axis, so epoch-level points (train
loss per epoch, validation metrics) sit on the same axis as the per-step lines and
several runs overlay directly. The figure returns exactly these series, so tests
can check the plotted values against the logged ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cloudgd.report.runfiles import RunData

# Preferred validation metric per task, best first; val_loss has its own panel.
_VAL_METRICS = ("val_accuracy", "val_r2", "val_mse")
METRIC_TITLES = {
    "val_accuracy": "validation accuracy",
    "val_r2": "validation R²",
    "val_mse": "validation MSE",
}


@dataclass(frozen=True)
class Series:
    """One line: x = optimizer step, y = the logged value (non-finite points dropped)."""

    name: str
    x: tuple[int, ...]
    y: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.x)

    @property
    def last(self) -> float | None:
        return self.y[-1] if self.y else None


def series(records: tuple[dict[str, Any], ...], key: str) -> Series:
    """``key`` against ``step`` over the records that logged a finite number for it."""
    xs, ys = [], []
    for record in records:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            xs.append(int(record["step"]))
            ys.append(float(value))
    return Series(name=key, x=tuple(xs), y=tuple(ys))


def val_metric_name(run: RunData) -> str | None:
    """The validation metric to show besides val_loss: accuracy, else R², else MSE."""
    logged = {k for record in run.epochs for k in record}
    return next((name for name in _VAL_METRICS if name in logged), None)


@dataclass(frozen=True)
class RunCurves:
    """Everything one run contributes to the figure."""

    label: str
    train_loss: Series
    train_loss_epoch: Series
    val_loss: Series
    val_metric: Series | None
    lr: Series
    grad_norm: Series
    samples_per_sec: Series


def run_curves(run: RunData) -> RunCurves:
    """The plotted series of ``run``. lr comes from step records, or epoch ones without."""
    metric = val_metric_name(run)
    lr = series(run.steps, "lr")
    if not lr.x:
        lr = series(run.epochs, "lr")
    return RunCurves(
        label=run.label,
        train_loss=series(run.steps, "loss"),
        train_loss_epoch=series(run.epochs, "loss"),
        val_loss=series(run.epochs, "val_loss"),
        val_metric=series(run.epochs, metric) if metric else None,
        lr=lr,
        grad_norm=series(run.steps, "grad_norm"),
        samples_per_sec=series(run.steps, "samples_per_sec"),
    )


def positive(values: tuple[float, ...]) -> bool:
    """True when a log scale can show every value."""
    return bool(values) and all(v > 0 for v in values)


def wide_range(values: tuple[float, ...], ratio: float = 30.0) -> bool:
    """True when the values span more than ``ratio``×: a log axis reads better."""
    return positive(values) and max(values) / min(values) > ratio

"""Where a run stands (saved in every checkpoint) and the best-metric bookkeeping."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Progress:
    """The run's position and counters; restoring it resumes the run exactly."""

    step: int = 0
    epoch: int = 0  # epochs completed
    micro: int = 0  # micro-batches of the current epoch already consumed
    bad_steps: int = 0
    warnings: int = 0
    best_value: float | None = None
    best_step: int | None = None
    best_epoch: int | None = None
    es_value: float | None = None
    es_bad: int = 0
    last_eval_step: int | None = None
    last_val: dict[str, float] = field(default_factory=dict)
    last_train_loss: float | None = None
    stopped_reason: str | None = None
    completed: bool = False


def metric_mode(metric: str, mode: str) -> str:
    """``min`` or ``max``; auto maximises accuracies and r2, minimises the rest."""
    if mode != "auto":
        return mode
    return "max" if any(t in metric for t in ("acc", "r2", "f1", "auc")) else "min"


def improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta``."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta

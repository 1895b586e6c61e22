"""The ``tuning:`` block of a job spec: what to search, how, and what to optimise.

Kept free of ``cloudgd.spec`` imports because ``JobSpec`` embeds it; the checks
that need the whole job (do the paths exist, do the values fit) live in
``cloudgd.tuning.validate``.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, model_validator

from trainers.config import ConfigModel

# What the trainer reports at each evaluation (metrics.jsonl, stdout key=value lines,
# the Vertex hypertune file); the clouds' tuners can only optimise these.
MetricName = Literal["val_loss", "val_accuracy", "val_mse", "val_r2", "loss"]
TUNABLE_METRICS: tuple[str, ...] = get_args(MetricName)
# A script job's objective is one of the metrics its script: block collects (any name).
_METRIC = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
MAX_TRIALS = 500

Scalar = bool | int | float | str


class TuningMetric(ConfigModel):
    """The objective: one metric the trainer reports, and which way is better."""

    name: str = Field(
        default="val_loss",
        pattern=_METRIC,
        description="Metric to optimise: one the trainer reports (val_loss, val_accuracy, "
        "val_mse, val_r2, loss), or for a script job one its script.metrics collects.",
    )
    goal: Literal["minimize", "maximize"] = Field(
        default="minimize", description="minimize for losses and errors, maximize for accuracies."
    )


class ParameterRange(ConfigModel):
    """Where one field's trial values come from."""

    type: Literal["uniform", "log_uniform", "int_uniform", "choice"] = Field(
        description="uniform / log_uniform (floats), int_uniform (integers), choice (a list)."
    )
    min: float | None = Field(default=None, description="Lower bound (inclusive); not for choice.")
    max: float | None = Field(default=None, description="Upper bound (inclusive); not for choice.")
    values: list[Scalar] | None = Field(
        default=None, description="The candidates, for type choice only."
    )

    @model_validator(mode="after")
    def _shape(self) -> ParameterRange:
        if self.type == "choice":
            if self.min is not None or self.max is not None:
                raise ValueError("type choice takes values:, not min/max")
            if not self.values:
                raise ValueError("type choice needs a non-empty values: list")
            if len({repr(v) for v in self.values}) != len(self.values):
                raise ValueError("values: has duplicates")
            return self
        if self.values is not None:
            raise ValueError(f"type {self.type} takes min/max, not values:")
        if self.min is None or self.max is None:
            raise ValueError(f"type {self.type} needs both min and max")
        if self.min >= self.max:
            raise ValueError(f"min ({self.min:g}) must be < max ({self.max:g})")
        if self.type == "log_uniform" and self.min <= 0:
            raise ValueError(f"log_uniform needs min > 0 (got {self.min:g})")
        if self.type == "int_uniform" and not (self.min.is_integer() and self.max.is_integer()):
            raise ValueError("int_uniform needs whole-number min and max")
        return self

    @property
    def low(self) -> float:
        assert self.min is not None
        return self.min

    @property
    def high(self) -> float:
        assert self.max is not None
        return self.max

    @property
    def candidates(self) -> list[Scalar]:
        assert self.values is not None
        return list(self.values)


class TuningSpec(ConfigModel):
    """A hyperparameter search over ``trainer.*`` fields, run by each cloud's own tuner."""

    metric: TuningMetric = Field(
        default_factory=TuningMetric, description="The objective metric and its goal."
    )
    parameters: dict[str, ParameterRange] = Field(
        min_length=1,
        description="Dotted trainer field path (trainer.optimizer.lr) → its search range.",
    )
    max_trials: int = Field(
        default=10, ge=1, le=MAX_TRIALS, description="Most trials (training jobs) to run."
    )
    parallel_trials: int = Field(
        default=1, ge=1, le=100, description="Trials running at once (locally: at most the CPUs)."
    )
    strategy: Literal["random", "grid", "bayesian"] = Field(
        default="bayesian", description="How the next trial's values are chosen."
    )
    early_stopping: bool = Field(
        default=False,
        description="Stop trials whose intermediate metric trails the others (median rule).",
    )

    @model_validator(mode="after")
    def _checks(self) -> TuningSpec:
        if self.parallel_trials > self.max_trials:
            raise ValueError(
                f"parallel_trials ({self.parallel_trials}) must be <= max_trials "
                f"({self.max_trials})"
            )
        if self.strategy == "grid":
            ranged = [p for p, r in self.parameters.items() if r.type != "choice"]
            if ranged:
                raise ValueError(
                    f"strategy grid needs type choice for every parameter ({ranged[0]} is "
                    "a range): SageMaker and Azure ML grids only enumerate lists"
                )
        return self

    @property
    def grid_size(self) -> int | None:
        """Combinations a grid search enumerates (None unless every parameter is a choice)."""
        if any(r.type != "choice" for r in self.parameters.values()):
            return None
        size = 1
        for r in self.parameters.values():
            size *= len(r.candidates)
        return size

    @property
    def trial_count(self) -> int:
        """Trials the study runs at most: max_trials, or fewer when a grid is smaller."""
        grid = self.grid_size if self.strategy == "grid" else None
        return min(self.max_trials, grid) if grid else self.max_trials

    def plan_summary(self, strategy: str, parallel_trials: int | None = None) -> dict[str, Any]:
        """The study's lines in a plan's summary, the same on every provider: ``strategy``
        as the tuner names it, ``parallel_trials`` where the provider caps it (local CPUs)."""
        return {
            "trials": self.trial_count,
            "parallel_trials": self.parallel_trials if parallel_trials is None else parallel_trials,
            "strategy": strategy,
            "objective": f"{self.metric.goal} {self.metric.name}",
            "parameters": sorted(self.parameters),
        }

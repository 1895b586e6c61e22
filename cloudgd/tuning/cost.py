"""What a study may spend: ``max_trials`` × the per-trial bound, under one budget.

``limits.max_cost_usd`` on a spec with ``tuning:`` is the budget of the whole
study. Each trial gets an equal share, so the per-trial time cap every adapter
derives (``cloudgd.cost.budget.capped_runtime``) keeps the sum of all trials
under the budget, and the submit gate refuses when trials × worst case exceeds it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cloudgd.errors import UsageError
from cloudgd.spec import JobSpec
from cloudgd.tuning.spec import TuningSpec


def require_tuning(spec: JobSpec) -> TuningSpec:
    """The spec's tuning block, or a UsageError saying how to add one."""
    if spec.tuning is None:
        raise UsageError(
            f"job {spec.name} has no tuning: block",
            hint="add tuning: {metric: ..., parameters: {trainer.optimizer.lr: {type: "
            "log_uniform, min: 1e-4, max: 1e-1}}} (see docs/tuning.md)",
        )
    return spec.tuning


def trial_spec(spec: JobSpec) -> JobSpec:
    """The spec one trial runs under: the study budget split equally over the trials."""
    tuning = require_tuning(spec)
    budget = spec.limits.max_cost_usd
    if budget is None:
        return spec
    share = budget / tuning.trial_count
    return spec.model_copy(
        update={"limits": spec.limits.model_copy(update={"max_cost_usd": share})}
    )


class StudyCost(BaseModel):
    """A study's cost bounds from one trial's estimate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trials: int = Field(description="Trials the study runs at most.")
    parallel_trials: int = Field(description="Trials at once.")
    per_trial_expected: float | None = Field(description="Expected USD of one trial.")
    per_trial_worst_case: float | None = Field(description="Worst-case USD of one trial.")
    expected_total: float | None = Field(description="trials × expected per trial.")
    upper_bound_total: float | None = Field(description="trials × worst case per trial.")
    max_cost_usd: float | None = Field(description="The study's budget (limits.max_cost_usd).")
    within_budget: bool | None = Field(description="upper_bound_total <= budget; None if unknown.")


def study_cost(
    tuning: TuningSpec, expected: float | None, worst: float | None, budget: float | None
) -> StudyCost:
    """trials × per-trial figures, and whether the worst case fits the budget."""
    trials = tuning.trial_count
    total_worst = None if worst is None else worst * trials
    fits = None if budget is None or total_worst is None else total_worst <= budget
    return StudyCost(
        trials=trials,
        parallel_trials=min(tuning.parallel_trials, trials),
        per_trial_expected=expected,
        per_trial_worst_case=worst,
        expected_total=None if expected is None else expected * trials,
        upper_bound_total=total_worst,
        max_cost_usd=budget,
        within_budget=fits,
    )

"""What a finished (or followed) job comes to, for CI: one model behind the
``--output json`` document and the GitHub step summary.

The status, the estimate and the gate results come in; the cost is the catalog
price per hour of the spec's capacity times the hours the job ran (for a job still
running: until now).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudgd.ci.gates import GateResult
from cloudgd.plan import JobState, JobStatus

if TYPE_CHECKING:
    from cloudgd.cost.estimate import Estimate

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class CostFigures(BaseModel):
    """Estimated money for one job, from the bundled price catalog (USD)."""

    model_config = _FROZEN

    currency: Literal["USD"] = Field(default="USD", description="Currency of every amount.")
    instance_type: str = Field(description="Machine priced (provider-native name).")
    nodes: int = Field(description="Nodes priced.")
    capacity: Literal["on_demand", "spot"] = Field(description="Capacity the spec asks for.")
    per_hour: float | None = Field(description="All nodes, per hour; None if not in the catalog.")
    this_run: float | None = Field(
        description="per_hour × the hours this job was billed or ran; None until known."
    )
    expected: float | None = Field(description="Estimate over the expected hours, if known.")
    worst_case: float | None = Field(description="Bound over limits.max_runtime.")
    prices_as_of: date = Field(description="Date of the oldest price row used.")


def cost_figures(estimate: Estimate, seconds: float | None) -> CostFigures:
    """The estimate's numbers, plus what ``seconds`` of running cost at its price."""
    totals = estimate.spot if estimate.capacity == "spot" else estimate.on_demand
    # An unknown spot price is bounded by on-demand, as the budget does.
    per_hour = totals.per_hour if totals.per_hour is not None else estimate.on_demand.per_hour
    this_run = None if per_hour is None or seconds is None else per_hour * seconds / 3600.0
    return CostFigures(
        instance_type=estimate.instance_type,
        nodes=estimate.nodes,
        capacity=estimate.capacity,
        per_hour=per_hour,
        this_run=this_run,
        expected=estimate.expected_total,
        worst_case=estimate.upper_bound_total,
        prices_as_of=estimate.as_of,
    )


_HEADLINE_PREFIXES = ("val_", "train_", "test_", "eval_")
_HEADLINE_WORDS = ("loss", "accuracy", "acc", "mse", "mae", "r2", "f1", "auc", "perplexity")


def headline_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """The model-quality metrics people look at first (losses, accuracies, val_*);
    all of them when none look like that. The JSON keeps every metric."""
    chosen = {
        name: value
        for name, value in metrics.items()
        if name.startswith(_HEADLINE_PREFIXES) or name.rsplit("_", 1)[-1] in _HEADLINE_WORDS
    }
    return chosen or dict(metrics)


def ran_seconds(status: JobStatus, now: datetime | None = None) -> float | None:
    """Billed seconds where the cloud reports them, else start to end (or ``now``)."""
    if status.billable_seconds is not None:
        return float(status.billable_seconds)
    if status.started_at is None:
        return None
    end = status.ended_at or now or datetime.now(status.started_at.tzinfo)
    return max((end - status.started_at).total_seconds(), 0.0)


class JobResult(BaseModel):
    """Everything CI acts on after ``submit --wait`` or ``wait``."""

    model_config = _FROZEN

    handle: str = Field(description="Job handle URI.")
    job_name: str = Field(description="Job name.")
    provider: str = Field(description="Provider name.")
    backend: str = Field(default="cloud", description="cloud, or the rehearsal backend.")
    state: JobState = Field(description="Final (or current) normalised state.")
    message: str | None = Field(default=None, description="Failure reason, if any.")
    duration_seconds: float | None = Field(description="How long the job ran, when known.")
    metrics: dict[str, float] = Field(description="Final metrics the job reported.")
    console_url: str | None = Field(description="The job in the cloud console.")
    cost: CostFigures | None = Field(description="Estimated cost; None for local runs.")
    gates: list[GateResult] = Field(default_factory=list, description="Metric gates checked.")
    ci_run_url: str | None = Field(default=None, description="The CI run that submitted it.")
    attached: bool = Field(
        default=False,
        description="True when this CI attempt reused the job an earlier attempt started.",
    )

    @property
    def passed(self) -> bool:
        """Succeeded and met every gate."""
        return self.state == JobState.SUCCEEDED and all(g.passed for g in self.gates)

    def document(self) -> dict[str, Any]:
        """The JSON form: the model plus ``passed`` (null while the job has not ended)."""
        passed = self.passed if self.state.terminal else None
        return {**self.model_dump(mode="json"), "passed": passed}


def build_result(
    status: JobStatus,
    *,
    provider: str,
    backend: str = "cloud",
    job_name: str | None = None,
    estimate: Estimate | None = None,
    gates: list[GateResult] | None = None,
    ci_run_url: str | None = None,
    attached: bool = False,
    now: datetime | None = None,
) -> JobResult:
    """Join a status with its cost and gate results."""
    seconds = ran_seconds(status, now)
    return JobResult(
        handle=status.handle,
        job_name=job_name or status.name,
        provider=provider,
        backend=backend,
        state=status.state,
        message=status.message,
        duration_seconds=seconds,
        metrics=dict(status.metrics),
        console_url=status.console_url,
        cost=None if estimate is None else cost_figures(estimate, seconds),
        gates=list(gates or []),
        ci_run_url=ci_run_url,
        attached=attached,
    )

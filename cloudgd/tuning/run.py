"""Plan, budget-gate and start a tuning study: the part of ``cloudgd tune`` the Python API
shares (``Job.tune``). Nothing here prints; progress goes to an ``on_event`` callback.

A local study runs here, in the foreground, and returns when it ended; a cloud study is
submitted through the provider's tuner and followed from its (tuning) handle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudgd.errors import UsageError

if TYPE_CHECKING:
    from cloudgd.plan import JobStatus, Plan
    from cloudgd.planning import Planned
    from providers.base import Provider


def tuning_plan(planned: Planned) -> Plan:
    """The provider's tuning plan, rendered with the same context as its single-job plan."""
    spec, ctx, provider = planned.loaded.spec, planned.ctx, planned.provider
    if provider.name == "aws":
        from providers.aws.tuning import render_tuning

        return render_tuning(spec, ctx, rehearsal=provider.rehearsal)  # type: ignore[attr-defined]
    if provider.name == "gcp":
        from providers.gcp.tuning import render_tuning as render_vertex

        return render_vertex(spec, ctx, rehearsal=provider.backend == "fake")
    if provider.name == "azure":
        from providers.azure.tuning import render_sweep

        return render_sweep(spec, ctx, rehearsal=provider.backend == "fake")
    raise UsageError(f"provider {provider.name} has no tuning request to plan")


def submit_tuning(provider: Provider, plan: Plan) -> JobStatus:
    """Send the tuning plan through the provider's tuner; its status (a tuning handle)."""
    if provider.name == "aws":
        from providers.aws.tuning import submit_tuning as submit_aws

        return submit_aws(provider, plan)  # type: ignore[arg-type]
    if provider.name == "gcp":
        from providers.gcp.tuning_jobs import submit_tuning as submit_vertex

        return submit_vertex(provider, plan)  # type: ignore[arg-type]
    from providers.azure.tuning_jobs import submit_sweep

    return submit_sweep(provider, plan)  # type: ignore[arg-type]


def budget_gate(planned: Planned) -> None:
    """Refuse a cloud study whose trials × one trial's worst case exceed the budget."""
    spec = planned.loaded.spec
    if spec.limits.max_cost_usd is None or not planned.provider.is_cloud:
        return
    from cloudgd.cost.budget import enforce_budget
    from cloudgd.cost.select import choice_for_spec
    from cloudgd.tuning.cost import trial_spec

    # Each trial gets budget / trials, so this refuses when trials × worst case > budget.
    trial = trial_spec(spec)
    enforce_budget(trial, choice_for_spec(trial, planned.provider.name))


def local_study_dir(planned: Planned) -> Path:
    """Where a local study keeps its state and its trials' runs."""
    return Path(planned.ctx.runs_dir or ".") / "studies" / planned.plan.job_name


def run_local_study(planned: Planned, on_event: Callable[[str], None] | None = None) -> JobStatus:
    """Run the study here until it ends (Optuna; each trial a real local run)."""
    from providers.local.tuning import LocalStudy

    study = LocalStudy(
        planned.loaded.spec,
        local_study_dir(planned),
        name=planned.plan.job_name,
        now=planned.ctx.now,
        on_event=on_event,
        spec_dir=planned.ctx.spec_dir,
    )
    return study.run()


def start(planned: Planned, on_event: Callable[[str], None] | None = None) -> Any:
    """The study's status: a local study after it ran, a cloud study once submitted."""
    from cloudgd.tuning.cost import require_tuning

    require_tuning(planned.loaded.spec)
    if planned.provider.name == "local":
        return run_local_study(planned, on_event)
    plan = tuning_plan(planned)
    budget_gate(planned)
    return submit_tuning(planned.provider, plan)

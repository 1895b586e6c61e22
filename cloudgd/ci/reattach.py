"""Re-runs in CI: find the job an earlier attempt of the same CI run started.

The CI key carries the attempt (see :mod:`cloudgd.ci.environment`), so attempt 2
plans a job of its own. Before creating it, ``submit`` asks the provider about the
jobs attempts 1..N-1 would have named, newest first. The first one found decides:
still running or succeeded → attach to it (the runner timed out or a later step
failed; training again would pay twice); failed or cancelled → train anew under
this attempt's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudgd.ci.environment import CiRun
from cloudgd.errors import JobNotFoundError
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider

RETRAIN_AFTER = (JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class EarlierJob:
    """A job an earlier attempt started, and the plan that names it."""

    plan: Plan
    ctx: RenderContext
    status: JobStatus
    attempt: int


def find_earlier_job(
    provider: Provider, spec: JobSpec, ctx: RenderContext, run: CiRun
) -> EarlierJob | None:
    """The earlier attempt's job to attach to, or None to submit this attempt's own."""
    if run.attempt is None:
        return None
    for offset, key in enumerate(run.earlier_keys(), start=1):
        earlier_ctx = ctx.model_copy(update={"idempotency_key": key})
        plan = provider.plan(spec, earlier_ctx)
        try:
            status = provider.status(JobHandle.parse(plan.handle))
        except JobNotFoundError:
            continue
        if status.state in RETRAIN_AFTER:
            return None
        return EarlierJob(plan=plan, ctx=earlier_ctx, status=status, attempt=run.attempt - offset)
    return None

"""Submit, follow and cancel Azure ML sweep jobs (cloud or the fake).

A sweep is an Azure ML job like a command job: ``jobs.create_or_update`` of the
rendered sweep document, ``jobs.get`` and ``jobs.begin_cancel`` by name, so the
provider's own submit/status/cancel do the work and this module marks the
results as a study. Trials are child jobs of the sweep (``<sweep>_<n>``), listed
through run history (``jobs.list(parent_job_name=...)``). Azure ML keeps each
trial's sampled values and metrics in its MLflow run, which cloudgd does not
read; what the service puts on the sweep itself, the best trial and its score,
it does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from cloudgd.plan import JobHandle, JobStatus, Plan
from cloudgd.tuning.handle import as_tuning, single_job
from cloudgd.tuning.status import BestTrial, StudyStatus, TrialStatus
from cloudgd.tuning.trials import sibling_trial_handle, trial_counts
from providers.azure.provider import AzureProvider
from providers.azure.states import job_state
from providers.azure.views import JobView, TrialView

TRIALS_NOTE = (
    "Azure ML runs each trial as a child job of the sweep; each trial's sampled values "
    "and metrics are in its MLflow run (Azure ML studio shows them)"
)


def _trial(
    trial: TrialView, best: str | None, score: float | None, study: JobHandle
) -> TrialStatus:
    return TrialStatus(
        name=trial.name,
        handle=sibling_trial_handle(study, trial.name),
        state=job_state(trial.status).value,
        raw_state=trial.status,
        params=None,
        value=score if trial.name == best else None,
    )


def _score(job: JobView | None) -> tuple[str | None, float | None]:
    """(best trial, its score) from the sweep's service-set properties, once it has them."""
    props = job.properties if job else {}
    best = props.get("best_child_run_id") or None
    try:
        return best, float(props["score"])
    except (KeyError, ValueError):
        return best, None


def _as_study(
    status: JobStatus,
    handle: JobHandle | str,
    trials: list[TrialView] | None = None,
    job: JobView | None = None,
) -> JobStatus:
    best, score = _score(job)
    study = as_tuning(handle)
    rows = [_trial(t, best, score, study) for t in trials or []]
    metric = _primary_metric(job)
    typed = StudyStatus(
        trial_counts=trial_counts(rows),
        best=BestTrial(name=best, params=None, value=score) if best else None,
        trials=rows,
        note=TRIALS_NOTE,
    )
    metrics = {metric: score} if metric and score is not None else status.metrics
    extra = {**status.extra, **typed.to_extra()}
    return status.model_copy(update={"handle": str(study), "extra": extra, "metrics": metrics})


def _primary_metric(job: JobView | None) -> str | None:
    config = (job.properties if job else {}).get("primary_metric_config")
    try:
        name = json.loads(config).get("name") if config else None
    except (ValueError, AttributeError):
        return None
    return str(name) if name else None


def submit_tuning(provider: AzureProvider, plan: Plan) -> JobStatus:
    """Create the sweep job (or attach to the one of the same name)."""
    status = provider.submit(plan)
    return _as_study(status, status.handle)


def tuning_status(provider: AzureProvider, handle: JobHandle) -> JobStatus:
    """The sweep's state, its trials (child jobs) and, once it has ended, the best trial."""
    job_handle = single_job(handle)
    client = provider._for_handle(job_handle)
    job = provider._job(client, job_handle)  # one read of the sweep serves both uses
    status = provider._status_of(job, client.run(handle.job), job_handle)
    return _as_study(status, handle, trials=client.list_trials(handle.job), job=job)


def cancel_tuning(provider: AzureProvider, handle: JobHandle) -> JobStatus:
    """Cancel the sweep (Azure ML cancels its running trials); ended sweeps are left alone."""
    provider.cancel(single_job(handle))
    return tuning_status(provider, handle)


def tuning_logs(
    provider: AzureProvider, handle: JobHandle, *, follow: bool = False
) -> Iterator[str]:
    """The sweep job's own log files (the trials' logs live on their child jobs)."""
    yield from provider.logs(single_job(handle), follow=follow)

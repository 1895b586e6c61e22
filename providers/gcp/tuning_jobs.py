"""Submit, follow and cancel Vertex AI HyperparameterTuningJobs (cloud or the fake).

The same ``GcpApi`` methods serve both backends; only the endpoint differs.
Handles are ``gcp://<project>/<location>/<id or display name>?kind=tuning``
(plus ``backend=fake&endpoint=...`` on a rehearsal). Per-trial status comes from
the job's own ``trials`` field, which Vertex fills in as the study runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cloudgd.errors import JobNotFoundError, ProviderError
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, map_state
from cloudgd.tuning.handle import as_tuning, study_of, trial_of
from cloudgd.tuning.status import BestTrial, StudyStatus, TrialOfStudy, TrialStatus
from cloudgd.tuning.trials import narrowed_trial_handle, trial_counts
from providers.base import fetched_dir
from providers.gcp.provider import CONSOLE, GcpProvider, download_run_files, vertex_status

# google.cloud.aiplatform.v1.Trial.State → cloudgd's JobState.
TRIAL_STATES = {
    "REQUESTED": JobState.PENDING,
    "ACTIVE": JobState.RUNNING,
    "STOPPING": JobState.STOPPING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "INFEASIBLE": JobState.FAILED,
}
_TUNING_CONSOLE = CONSOLE.replace("/training/", "/training/hyperparameter-tuning-jobs/")


def _handle(job: dict[str, Any], endpoint: str | None) -> str:
    return str(as_tuning(GcpProvider._handle(job, endpoint)))


def _trial(trial: dict[str, Any], metric: str, study: JobHandle) -> TrialStatus:
    final = {
        m.get("metricId"): m.get("value")
        for m in (trial.get("finalMeasurement") or {}).get("metrics", [])
    }
    name = f"trial-{trial.get('id')}"
    return TrialStatus(
        name=name,
        handle=narrowed_trial_handle(study, name),
        state=trial.get("state"),
        params={p["parameterId"]: p.get("value") for p in trial.get("parameters", [])},
        value=final.get(metric),
        message=trial.get("infeasibleReason") or None,
    )


def study_status(job: dict[str, Any], endpoint: str | None) -> JobStatus:
    """A HyperparameterTuningJob resource as a study's JobStatus (tuning handle, trials)."""
    objective = ((job.get("studySpec") or {}).get("metrics") or [{}])[0]
    metric, goal = objective.get("metricId", ""), objective.get("goal", "MINIMIZE")
    study = JobHandle.parse(_handle(job, endpoint))
    trials = [_trial(t, metric, study) for t in job.get("trials", [])]
    scored = [t for t in trials if t.value is not None]
    pick = max if goal == "MAXIMIZE" else min
    best = pick(scored, key=lambda t: float(t.value or 0)) if scored else None
    base = vertex_status(job, endpoint, console=_TUNING_CONSOLE)
    typed = StudyStatus(
        metric=metric,
        trial_counts=trial_counts(trials),
        best=BestTrial(name=best.name, params=best.params, value=best.value) if best else None,
        trials=trials,
    )
    return base.model_copy(
        update={
            "handle": str(study),
            "metrics": {metric: float(best.value)} if best and best.value is not None else {},
            "extra": {**base.extra, **typed.to_extra()},
        }
    )


def _resolve(provider: GcpProvider, handle: JobHandle) -> tuple[Any, dict[str, Any], str | None]:
    """(api, tuning job dict, endpoint) for a handle naming the job by ID or display name."""
    return provider.resolve_resource(
        handle,
        collection="hyperparameterTuningJobs",
        what="tuning job",
        get=lambda api, name: api.get_tuning_job(name),
        find=lambda api, parent, where: api.list_tuning_jobs(parent, where),
    )


def submit_tuning(provider: GcpProvider, plan: Plan) -> JobStatus:
    """Upload the sdist, then create the tuning job; a live one from the same spec and
    idempotency key (found by label) is returned instead of creating a second one."""
    return provider.submit_resource(
        plan,
        body_key="hyperparameterTuningJob",
        what="tuning plan",
        find=lambda api, parent, where: api.list_tuning_jobs(parent, where),
        create=lambda api, parent, body: api.create_tuning_job(parent, body),
        as_status=study_status,
    )


def tuning_status(provider: GcpProvider, handle: JobHandle) -> JobStatus:
    """The tuning job as a JobStatus: trials, counts and the best trial in ``extra``."""
    _, job, endpoint = _resolve(provider, handle)
    return study_status(job, endpoint)


def tuning_logs(provider: GcpProvider, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
    """The study's Cloud Logging lines: the job's own and every trial's, ``[trial N]`` first;
    with ``trial=N`` in the handle, that trial's alone."""
    api, job, _ = _resolve(provider, study_of(handle))
    lines = provider.stream_logs(
        api, job, refresh=lambda name: api.get_tuning_job(name), follow=follow
    )
    trial = trial_of(handle)
    mark = f"[trial {trial}] "
    yield from (line for line in lines if trial is None or line.startswith(mark))


def trial_run_files(provider: GcpProvider, handle: JobHandle, trial: str) -> Path:
    """A trial's metrics files: Vertex gives trial ``N`` the model dir
    ``<base>/<N>/model/``, and the trainer writes its output dir beside it."""
    api, job, _ = _resolve(provider, study_of(handle))
    dest = fetched_dir(handle) / f"trial-{trial}"
    return download_run_files(api, job, "trialJobSpec", f"{trial}/output/", dest, handle)


def trial_status(provider: GcpProvider, handle: JobHandle, trial: str) -> JobStatus:
    """One trial of a Vertex study as a JobStatus (its values in ``extra['params']``)."""
    study = tuning_status(provider, study_of(handle))
    typed = StudyStatus.of(study)
    found = [t for t in (typed.trials if typed else None) or [] if t.name == f"trial-{trial}"]
    if not found:
        raise JobNotFoundError(
            f"Vertex AI study {study.name} has no trial {trial} (yet)",
            hint=f"`cloudgd status '{study_of(handle)}'` lists its trials",
        )
    [row] = found
    metric = typed.metric if typed else None
    return JobStatus(
        handle=str(handle),
        name=f"{study.name}-trial-{trial}",
        state=map_state(TRIAL_STATES, row.state),
        raw_state=row.state,
        message=row.message,
        metrics={metric: float(row.value)} if metric and row.value is not None else {},
        extra=TrialOfStudy(study=str(study_of(handle)), params=row.params).to_extra(),
    )


def cancel_tuning(provider: GcpProvider, handle: JobHandle) -> JobStatus:
    """CancelHyperparameterTuningJob (Vertex stops the running trials); idempotent."""
    api, job, endpoint = _resolve(provider, handle)
    current = study_status(job, endpoint)
    if current.state.terminal or current.state is JobState.STOPPING:
        return current
    try:
        api.cancel_tuning_job(job["name"])
    except ProviderError:
        # Lost a race with the study's own end (FAILED_PRECONDITION): report that end.
        current = study_status(api.get_tuning_job(job["name"]), endpoint)
        if not current.state.terminal:
            raise
        return current
    return study_status(api.get_tuning_job(job["name"]), endpoint)

"""Tuning handles: a job handle with ``kind=tuning`` in its query.

``aws://us-east-1/digits-3f2a9c?kind=tuning`` names a SageMaker tuning job,
``gcp://proj/us-central1/123?kind=tuning`` a Vertex HyperparameterTuningJob,
``azure://sub/rg/ws/digits-3f2a9c?kind=tuning`` an Azure ML sweep job and
``local:///…/studies/digits-3f2a9c?kind=tuning`` a local Optuna study. The path
is the provider's usual one, so every other query parameter (``backend=``,
``endpoint=``) keeps its meaning; ``status``, ``logs`` and ``cancel`` see the
kind and answer for the whole study with per-trial status.

A Vertex AI trial is not a job of its own, so ``trial=<id>`` on a Vertex study's
handle names one trial: ``gcp://proj/us-central1/123?kind=tuning&trial=3``
(``status``, ``logs`` and ``report`` answer for that trial alone).
"""

from __future__ import annotations

from cloudgd.plan import JobHandle

KIND = "kind"
TUNING = "tuning"
TRIAL = "trial"


def is_tuning(handle: JobHandle) -> bool:
    """True when the handle names a tuning job (study), not a single training job."""
    return handle.params.get(KIND) == TUNING


def as_tuning(handle: JobHandle | str) -> JobHandle:
    """The same address marked as a tuning job."""
    parsed = JobHandle.parse(handle) if isinstance(handle, str) else handle
    return parsed.model_copy(update={"params": {**parsed.params, KIND: TUNING}})


def trial_of(handle: JobHandle) -> str | None:
    """The trial a Vertex study handle narrows to (``trial=<id>``), if any."""
    return handle.params.get(TRIAL) if is_tuning(handle) else None


def study_of(handle: JobHandle) -> JobHandle:
    """The whole study's handle: ``handle`` without ``trial=``."""
    params = {k: v for k, v in handle.params.items() if k != TRIAL}
    return handle.model_copy(update={"params": params})


def single_job(handle: JobHandle) -> JobHandle:
    """The same address as a single job's handle: no ``kind=`` and no ``trial=``."""
    params = {k: v for k, v in handle.params.items() if k not in (KIND, TRIAL)}
    return handle.model_copy(update={"params": params})

"""Handles of a study's trials: what ``status`` lists and ``cloudgd report`` compares.

A local trial is a local run; a SageMaker trial is a training job; an Azure ML trial
is a child job of the sweep: each has an ordinary handle. A Vertex AI trial is not a
job of its own: the study's handle with ``trial=<id>`` names it. Which rule applies is
the provider's answer (:meth:`providers.features.SupportsTuning.trial_handle`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cloudgd.plan import JobHandle, JobStatus
from cloudgd.tuning.handle import TRIAL, single_job
from cloudgd.tuning.status import BestTrial, StudyStatus, TrialStatus

MAX_TRIALS_REPORTED = 8  # more curves than this in one figure read as noise
_FINISHED = {"SUCCEEDED", "Completed"}  # cloudgd's and Vertex's word, SageMaker's


def _ranked(trials: list[TrialStatus], best: BestTrial | None) -> list[TrialStatus]:
    """Finished trials, best first. The best value is the study's extreme, so distance
    from it orders the rest from better to worse whatever the goal."""
    finished = [t for t in trials if str(t.state) in _FINISHED]
    best_value = best.value if best else None

    def rank(trial: TrialStatus) -> tuple[int, float]:
        if trial.value is None or best_value is None:
            return (1, 0.0)
        return (0, abs(float(trial.value) - float(best_value)))

    return sorted(finished, key=rank)


def sibling_trial_handle(study: JobHandle, name: str) -> str:
    """A trial that is a job of its own, beside the study (SageMaker, Azure ML): the
    study's address with the trial's name and no ``kind=``."""
    job = single_job(study)
    return str(job.model_copy(update={"parts": (*job.parts[:-1], name)}))


def narrowed_trial_handle(study: JobHandle, name: str) -> str:
    """A trial that is no job of its own (Vertex AI): the study's handle with
    ``trial=<id>`` (``name`` is ``trial-<id>``)."""
    params = {**study.params, TRIAL: name.removeprefix("trial-")}
    return str(study.model_copy(update={"params": params}))


def trial_handle(study: JobHandle, name: str) -> str:
    """The handle of the study's trial ``name``, by the rule of the provider that owns it."""
    from cloudgd import registry
    from providers.features import SupportsTuning

    owner = registry.provider_class(study.provider)
    if issubclass(owner, SupportsTuning):
        return owner.trial_handle(study, name)
    return sibling_trial_handle(study, name)


def trial_counts(trials: list[dict[str, Any]] | list[TrialStatus]) -> dict[str, int]:
    """How many of the study's trials are in each state (``StudyStatus.trial_counts``)."""
    return dict(Counter(str(t.state if isinstance(t, TrialStatus) else t["state"]) for t in trials))


def trial_handles(study: JobStatus) -> list[str]:
    """Handles of the study's best finished trials (at most ``MAX_TRIALS_REPORTED``);
    every provider's status gives each trial its handle."""
    typed = StudyStatus.of(study)
    if typed is None:
        return []
    ranked = _ranked(list(typed.trials or []), typed.best)
    return [t.handle for t in ranked if t.handle][:MAX_TRIALS_REPORTED]

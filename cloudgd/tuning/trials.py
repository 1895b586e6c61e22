"""A study's trials as jobs of their own: the handles ``cloudgd report`` compares.

A local trial is a local run; a SageMaker trial is a training job; an Azure ML trial
is a child job of the sweep. Each can be followed (and its metrics files fetched)
with an ordinary handle. Vertex AI trials are not jobs of their own, so a Vertex
study has no trial handles.
"""

from __future__ import annotations

from typing import Any

from cloudgd.plan import JobHandle, JobStatus
from cloudgd.tuning.handle import KIND, TRIAL, study_of

MAX_TRIALS_REPORTED = 8  # more curves than this in one figure read as noise
_FINISHED = {"SUCCEEDED", "Completed"}  # cloudgd's and Vertex's word, SageMaker's


def _ranked(trials: list[dict[str, Any]], best: dict[str, Any]) -> list[dict[str, Any]]:
    """Finished trials, best first. The best value is the study's extreme, so distance
    from it orders the rest from better to worse whatever the goal."""
    finished = [t for t in trials if str(t.get("state")) in _FINISHED]
    best_value = best.get("value")

    def rank(trial: dict[str, Any]) -> tuple[int, float]:
        value = trial.get("value")
        if value is None or best_value is None:
            return (1, 0.0)
        return (0, abs(float(value) - float(best_value)))

    return sorted(finished, key=rank)


def trial_handles(study: JobStatus, handle: JobHandle) -> list[str]:
    """Handles of the study's best finished trials (at most ``MAX_TRIALS_REPORTED``)."""
    params = {k: v for k, v in handle.params.items() if k != KIND}
    found = []
    for trial in _ranked(list(study.extra.get("trials") or []), study.extra.get("best") or {}):
        if handle.provider == "gcp":  # a trial of the study, named by its ID
            trial_id = str(trial["name"]).removeprefix("trial-")
            narrowed = {**study_of(handle).params, TRIAL: trial_id}
            found.append(str(handle.model_copy(update={"params": narrowed})))
        elif handle.provider == "local":
            if trial.get("handle"):
                found.append(str(trial["handle"]))
        elif trial.get("name"):
            parts = (*handle.parts[:-1], str(trial["name"]))
            found.append(str(JobHandle(provider=handle.provider, parts=parts, params=params)))
    return found[:MAX_TRIALS_REPORTED]

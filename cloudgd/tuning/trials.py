"""Handles of a study's trials: what ``status`` lists and ``cloudgd report`` compares.

A local trial is a local run; a SageMaker trial is a training job; an Azure ML trial
is a child job of the sweep: each has an ordinary handle. A Vertex AI trial is not a
job of its own: the study's handle with ``trial=<id>`` names it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cloudgd.plan import JobHandle, JobStatus
from cloudgd.tuning.handle import TRIAL, single_job

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


def trial_handle(study: JobHandle, name: str) -> str:
    """The handle of the study's trial ``name``: a sibling job's (SageMaker, Azure ML),
    or for Vertex the study's own narrowed with ``trial=<id>`` (``name`` is ``trial-<id>``)."""
    if study.provider == "gcp":
        params = {**study.params, TRIAL: name.removeprefix("trial-")}
        return str(study.model_copy(update={"params": params}))
    job = single_job(study)
    return str(job.model_copy(update={"parts": (*job.parts[:-1], name)}))


def trial_counts(trials: list[dict[str, Any]]) -> dict[str, int]:
    """How many of the study's trials are in each state (``extra['trial_counts']``)."""
    return dict(Counter(str(t["state"]) for t in trials))


def trial_handles(study: JobStatus) -> list[str]:
    """Handles of the study's best finished trials (at most ``MAX_TRIALS_REPORTED``);
    every provider's status gives each trial its handle."""
    ranked = _ranked(list(study.extra.get("trials") or []), study.extra.get("best") or {})
    return [str(t["handle"]) for t in ranked if t.get("handle")][:MAX_TRIALS_REPORTED]

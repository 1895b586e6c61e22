"""Which trials stand for a study in `cloudgd report`, and by what handles."""

from __future__ import annotations

from typing import Any

from cloudgd.plan import JobHandle, JobState, JobStatus
from cloudgd.tuning.trials import MAX_TRIALS_REPORTED, trial_handles


def _study(handle: str, trials: list[dict[str, Any]], best: dict[str, Any]) -> JobStatus:
    return JobStatus(
        handle=handle,
        name="digits-tune",
        state=JobState.SUCCEEDED,
        extra={"kind": "tuning", "trials": trials, "best": best},
    )


def test_sagemaker_trials_are_training_jobs_best_first_whatever_the_goal() -> None:
    handle = JobHandle.parse("aws://us-east-1/digits-tune?kind=tuning&backend=moto")
    trials = [
        {"name": "digits-tune-001-a", "state": "Completed", "value": 0.90},
        {"name": "digits-tune-002-b", "state": "Failed", "value": None},
        {"name": "digits-tune-003-c", "state": "Completed", "value": 0.97},  # the best (max)
        {"name": "digits-tune-004-d", "state": "Completed", "value": 0.95},
    ]
    found = trial_handles(_study(str(handle), trials, {"value": 0.97}), handle)
    assert found == [
        "aws://us-east-1/digits-tune-003-c?backend=moto",
        "aws://us-east-1/digits-tune-004-d?backend=moto",
        "aws://us-east-1/digits-tune-001-a?backend=moto",
    ]


def test_azure_trials_are_the_sweeps_child_jobs() -> None:
    handle = JobHandle.parse("azure://sub/rg/ws/sweep-1?kind=tuning")
    trials = [
        {"name": "sweep-1_0", "state": "SUCCEEDED", "value": None},
        {"name": "sweep-1_1", "state": "SUCCEEDED", "value": 0.2},  # the one with a score
        {"name": "sweep-1_2", "state": "RUNNING", "value": None},
    ]
    found = trial_handles(_study(str(handle), trials, {"value": 0.2}), handle)
    assert found == ["azure://sub/rg/ws/sweep-1_1", "azure://sub/rg/ws/sweep-1_0"]


def test_local_trials_are_local_runs_and_a_big_study_reports_its_best_few() -> None:
    handle = JobHandle.parse("local:///runs/studies/digits-tune?kind=tuning")
    trials = [
        {"number": n, "state": "SUCCEEDED", "value": 1.0 / (n + 1), "handle": f"local:///t/{n}"}
        for n in range(20)
    ]
    found = trial_handles(_study(str(handle), trials, {"value": 1.0 / 20}), handle)
    assert len(found) == MAX_TRIALS_REPORTED
    assert found[:2] == ["local:///t/19", "local:///t/18"]  # minimised: smallest first


def test_vertex_trials_are_named_on_the_studys_handle() -> None:
    handle = JobHandle.parse("gcp://p/us-central1/123?kind=tuning&backend=fake")
    trials = [
        {"name": "trial-1", "state": "SUCCEEDED", "value": 0.3},
        {"name": "trial-2", "state": "SUCCEEDED", "value": 0.1},
        {"name": "trial-3", "state": "ACTIVE", "value": None},
    ]
    found = trial_handles(_study(str(handle), trials, {"value": 0.1}), handle)
    assert found == [
        "gcp://p/us-central1/123?backend=fake&kind=tuning&trial=2",
        "gcp://p/us-central1/123?backend=fake&kind=tuning&trial=1",
    ]

"""A study's trials by handle: the handle each trial gets, and which trials a report
compares (the best finished ones, best first)."""

from __future__ import annotations

from typing import Any

from cloudgd.plan import JobHandle, JobState, JobStatus
from cloudgd.tuning.trials import MAX_TRIALS_REPORTED, trial_handle, trial_handles


def test_each_providers_trials_have_handles_that_follow_them_as_jobs() -> None:
    aws = JobHandle.parse("aws://us-east-1/digits-tune?kind=tuning&backend=moto")
    assert (
        trial_handle(aws, "digits-tune-003-c") == "aws://us-east-1/digits-tune-003-c?backend=moto"
    )
    azure = JobHandle.parse("azure://sub/rg/ws/sweep-1?kind=tuning")
    assert trial_handle(azure, "sweep-1_2") == "azure://sub/rg/ws/sweep-1_2"
    # a Vertex trial is no job of its own: the study's handle narrowed to it
    gcp = JobHandle.parse("gcp://p/us-central1/123?kind=tuning&backend=fake")
    assert (
        trial_handle(gcp, "trial-2") == "gcp://p/us-central1/123?backend=fake&kind=tuning&trial=2"
    )


def _study(trials: list[dict[str, Any]], best: dict[str, Any]) -> JobStatus:
    return JobStatus(
        handle="aws://us-east-1/digits-tune?kind=tuning",
        name="digits-tune",
        state=JobState.SUCCEEDED,
        extra={"kind": "tuning", "trials": trials, "best": best},
    )


def test_a_report_compares_finished_trials_best_first_whatever_the_goal() -> None:
    trials = [
        {"name": "t-001", "handle": "h1", "state": "Completed", "value": 0.90},
        {"name": "t-002", "handle": "h2", "state": "Failed", "value": None},
        {"name": "t-003", "handle": "h3", "state": "Completed", "value": 0.97},  # the best (max)
        {"name": "t-004", "handle": "h4", "state": "Completed", "value": 0.95},
        {"name": "t-005", "handle": "h5", "state": "InProgress", "value": None},
    ]
    assert trial_handles(_study(trials, {"value": 0.97})) == ["h3", "h4", "h1"]


def test_trials_without_values_follow_the_scored_ones() -> None:
    """Azure ML scores only the best trial (the sweep's `score`)."""
    trials = [
        {"name": "s_0", "handle": "h0", "state": "SUCCEEDED", "value": None},
        {"name": "s_1", "handle": "h1", "state": "SUCCEEDED", "value": 0.2},
        {"name": "s_2", "handle": "h2", "state": "RUNNING", "value": None},
    ]
    assert trial_handles(_study(trials, {"value": 0.2})) == ["h1", "h0"]


def test_a_big_study_reports_its_best_few() -> None:
    trials = [
        {"number": n, "handle": f"local:///t/{n}", "state": "SUCCEEDED", "value": 1 / (n + 1)}
        for n in range(20)
    ]
    found = trial_handles(_study(trials, {"value": 1 / 20}))
    assert len(found) == MAX_TRIALS_REPORTED
    assert found[:2] == ["local:///t/19", "local:///t/18"]  # minimised: smallest first

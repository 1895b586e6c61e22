"""The fake Vertex service's tuning jobs on a hand-driven clock: waves of trials, cancel."""

from __future__ import annotations

from typing import Any

import pytest

from providers.gcp.rehearsal.fake_query import FakeError
from providers.gcp.rehearsal.fake_store import JobStore, Phases
from providers.gcp.rehearsal.fake_tuning import TuningStore

PARENT = "projects/p/locations/us-central1"


class Clock:
    """A clock tests move by hand, so no test depends on real time."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": "study",
        "labels": {"cloudgd-job": "study"},
        "studySpec": {
            "metrics": [{"metricId": "val_loss", "goal": "MINIMIZE"}],
            "parameters": [
                {
                    "parameterId": "trainer.optimizer.lr",
                    "doubleValueSpec": {"minValue": 1e-4, "maxValue": 1e-1},
                    "scaleType": "UNIT_LOG_SCALE",
                },
                {
                    "parameterId": "trainer.epochs",
                    "integerValueSpec": {"minValue": "1", "maxValue": "3"},
                },
            ],
        },
        "maxTrialCount": 5,
        "parallelTrialCount": 2,
        "trialJobSpec": {
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-8"},
                    "containerSpec": {"imageUri": "i"},
                }
            ]
        },
    }
    body.update(fields)
    return body


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> TuningStore:
    # queued 1 s, pending 1 s, running 30 s: three waves of 10 s for 5 trials, 2 at once
    phases = Phases(queued=1, pending=1, running=30, cancelling=1)
    return TuningStore(JobStore(phases, clock=clock))


def _states(job: dict[str, Any]) -> list[str]:
    return [t["state"] for t in job.get("trials", [])]


def test_trials_run_in_waves_of_parallel_trials(store: TuningStore, clock: Clock) -> None:
    name = store.create(PARENT, _body())["name"]
    assert "/hyperparameterTuningJobs/" in name
    assert _states(store.get(name)) == []
    clock.now += 2.5
    assert _states(store.get(name)) == ["ACTIVE", "ACTIVE"]
    clock.now += 10
    assert _states(store.get(name)) == ["SUCCEEDED", "SUCCEEDED", "ACTIVE", "ACTIVE"]
    clock.now += 30
    done = store.get(name)
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    assert _states(done) == ["SUCCEEDED"] * 5
    for trial in done["trials"]:
        lr, epochs = (p["value"] for p in trial["parameters"])
        assert 1e-4 <= lr <= 1e-1 and epochs in (1, 2, 3)
        [metric] = trial["finalMeasurement"]["metrics"]
        assert metric["metricId"] == "val_loss"
    assert store.get(name) == done  # reads are stable


def test_cancel_stops_the_active_trials_and_twice_is_a_no_op(
    store: TuningStore, clock: Clock
) -> None:
    name = store.create(PARENT, _body())["name"]
    clock.now += 13  # the second wave is running
    store.cancel(name)
    assert store.get(name)["state"] == "JOB_STATE_CANCELLING"
    assert _states(store.get(name)) == ["SUCCEEDED", "SUCCEEDED", "STOPPING", "STOPPING"]
    clock.now += 2
    store.cancel(name)
    cancelled = store.get(name)
    assert cancelled["state"] == "JOB_STATE_CANCELLED"
    assert _states(cancelled) == ["SUCCEEDED", "SUCCEEDED", "INFEASIBLE", "INFEASIBLE"]


def test_cancelling_a_finished_study_is_a_failed_precondition(
    store: TuningStore, clock: Clock
) -> None:
    name = store.create(PARENT, _body())["name"]
    clock.now += 60
    with pytest.raises(FakeError) as refused:
        store.cancel(name)
    assert refused.value.status == "FAILED_PRECONDITION"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"displayName": ""}, "display_name is required"),
        ({"maxTrialCount": 0}, "max_trial_count"),
        ({"parallelTrialCount": 0}, "parallel_trial_count"),
        ({"trialJobSpec": {}}, "worker_pool_specs"),
    ],
)
def test_malformed_studies_are_invalid_arguments(
    store: TuningStore, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(FakeError, match=message) as refused:
        store.create(PARENT, _body(**fields))
    assert refused.value.status == "INVALID_ARGUMENT"


def test_list_filters_by_label(store: TuningStore) -> None:
    store.create(PARENT, _body())
    store.create(PARENT, _body(labels={"cloudgd-job": "other"}))
    page = store.list_jobs(PARENT, 'labels.cloudgd-job="other"')
    assert [j["labels"]["cloudgd-job"] for j in page["hyperparameterTuningJobs"]] == ["other"]
    with pytest.raises(FakeError, match="not found"):
        store.get(f"{PARENT}/hyperparameterTuningJobs/1")

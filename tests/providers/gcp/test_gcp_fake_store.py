"""The fake Vertex service's job timeline, filters, limits and logs, on a hand-driven clock."""

from __future__ import annotations

from typing import Any

import pytest

from providers.gcp.rehearsal import fake_store
from providers.gcp.rehearsal.fake_query import FakeError
from providers.gcp.rehearsal.fake_store import JobStore, Phases

PARENT = "projects/p/locations/us-central1"


class Clock:
    """A clock tests move by hand, so no test depends on real time."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _body(name: str = "job", **labels: str) -> dict[str, Any]:
    return {
        "displayName": name,
        "labels": labels,
        "jobSpec": {
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-8"},
                    "containerSpec": {"imageUri": "i"},
                }
            ]
        },
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> JobStore:
    return JobStore(Phases(queued=10, pending=20, running=100, cancelling=5), clock=clock)


def _state(store: JobStore, name: str) -> str:
    return str(store.get(name)["state"])


def test_a_job_moves_from_queued_to_succeeded(store: JobStore, clock: Clock) -> None:
    name = store.create(PARENT, _body())["name"]
    seen = []
    for step in (0, 15, 40, 200):
        clock.now += step
        seen.append(_state(store, name))
    assert seen == ["JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING",
                    "JOB_STATE_SUCCEEDED"]  # fmt: skip
    job = store.get(name)
    assert job["startTime"] < job["endTime"] and name.rsplit("/", 1)[1].isdigit()


def test_cancel_goes_through_cancelling_and_a_queued_job_never_starts(
    store: JobStore, clock: Clock
) -> None:
    name = store.create(PARENT, _body())["name"]
    store.cancel(name)
    assert _state(store, name) == "JOB_STATE_CANCELLING"
    clock.now += 6
    job = store.get(name)
    assert job["state"] == "JOB_STATE_CANCELLED" and "startTime" not in job
    store.cancel(name)  # cancelling a cancelled job is a no-op


def test_cancelling_an_ended_job_is_a_failed_precondition(store: JobStore, clock: Clock) -> None:
    name = store.create(PARENT, _body())["name"]
    clock.now += 1000
    with pytest.raises(FakeError) as caught:
        store.cancel(name)
    assert (caught.value.http, caught.value.status) == (400, "FAILED_PRECONDITION")


def test_the_scheduling_timeout_fails_a_job_that_runs_longer(store: JobStore, clock: Clock) -> None:
    body = _body()
    body["jobSpec"]["scheduling"] = {"timeout": "50s"}
    name = store.create(PARENT, body)["name"]
    clock.now += 30 + 51
    job = store.get(name)
    assert job["state"] == "JOB_STATE_FAILED" and "timeout" in job["error"]["message"]


def test_an_admin_failure_ends_a_running_job(store: JobStore, clock: Clock) -> None:
    name = store.create(PARENT, _body())["name"]
    clock.now += 40
    assert store.fail(name, "trainer exited with status 3")["state"] == "JOB_STATE_FAILED"
    clock.now += 1000
    assert store.get(name)["error"]["message"] == "trainer exited with status 3"


def test_list_filters_on_labels_with_and(store: JobStore, clock: Clock) -> None:
    a = store.create(PARENT, _body("a", team="ml", env="ci"))["name"]
    clock.now += 1
    b = store.create(PARENT, _body("b", team="ml"))["name"]
    store.create("projects/other/locations/us-central1", _body("c", team="ml"))
    names = [j["name"] for j in store.list_jobs(PARENT, 'labels.team="ml"')["customJobs"]]
    assert names == [b, a]  # newest first, this project only
    only_a = store.list_jobs(PARENT, 'labels.team="ml" AND labels.env="ci"')["customJobs"]
    assert [j["name"] for j in only_a] == [a]
    assert len(store.list_jobs(PARENT, "labels.env:*")["customJobs"]) == 1
    assert len(store.list_jobs(PARENT, 'display_name="b"')["customJobs"]) == 1


def test_list_pages(store: JobStore) -> None:
    for i in range(5):
        store.create(PARENT, _body(f"j{i}"))
    first = store.list_jobs(PARENT, page_size=2)
    rest = store.list_jobs(PARENT, page_size=10, page_token=first["nextPageToken"])
    assert len(first["customJobs"]) == 2 and len(rest["customJobs"]) == 3
    assert "nextPageToken" not in rest


def test_unsupported_filter_syntax_is_an_invalid_argument(store: JobStore) -> None:
    with pytest.raises(FakeError) as caught:
        store.list_jobs(PARENT, 'labels.a="1" OR labels.b="2"')
    assert caught.value.status == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.pop("displayName"), "display_name"),
        (lambda b: b["jobSpec"].update(workerPoolSpecs=[]), "worker_pool_specs"),
        (lambda b: b["jobSpec"]["workerPoolSpecs"][0].update(replicaCount="2"), "replica_count"),
        (lambda b: b["jobSpec"]["workerPoolSpecs"][0].pop("containerSpec"), "container_spec"),
        (lambda b: b["labels"].update({"Bad Key": "x"}), "label"),
    ],
)
def test_malformed_bodies_are_rejected(store: JobStore, mutate: Any, message: str) -> None:
    body = _body()
    mutate(body)
    with pytest.raises(FakeError, match=message) as caught:
        store.create(PARENT, body)
    assert caught.value.http == 400


def test_the_store_is_bounded(store: JobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_store, "MAX_JOBS", 3)
    for _ in range(3):
        store.create(PARENT, _body())
    with pytest.raises(FakeError) as caught:
        store.create(PARENT, _body())
    assert caught.value.status == "RESOURCE_EXHAUSTED"


def test_log_entries_follow_the_timeline_and_filter_by_time(store: JobStore, clock: Clock) -> None:
    name = store.create(PARENT, _body())["name"]
    job_id = name.rsplit("/", 1)[1]
    clock.now += 40
    store.write_entries(
        [{"resource": {"type": "ml_job", "labels": {"job_id": job_id}}, "textPayload": "loss=1"}]
    )
    store.write_entries([{"resource": {"labels": {"job_id": "999"}}, "textPayload": "other"}])
    clock.now += 1000
    where = f'resource.type="ml_job" AND resource.labels.job_id="{job_id}"'
    texts = [e["textPayload"] for e in store.list_entries(where)["entries"]]
    assert texts == [
        "Waiting for job to be provisioned.",
        "Job is running.",
        "loss=1",
        "Job completed successfully.",
    ]
    after = store.list_entries(f'{where} AND timestamp>"{store.get(name)["startTime"]}"')
    assert [e["textPayload"] for e in after["entries"]] == ["loss=1", "Job completed successfully."]

"""The fake workspace's memory: how a job moves through Azure ML's states, and its bounds."""

from __future__ import annotations

import pytest

from providers.azure import fake_store
from providers.azure.fake_store import OUTCOME_TAG, FakeStore, StoreFull


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _store() -> tuple[FakeStore, Clock]:
    clock = Clock()
    return FakeStore(step_seconds=1.0, run_steps=3, clock=clock), clock


def _body(**tags: str) -> dict[str, object]:
    return {"properties": {"command": "python -m trainers", "tags": tags}}


def test_a_job_walks_through_azure_states_to_completed() -> None:
    store, clock = _store()
    job = store.add_job("ws", "j", _body())
    seen = []
    for _ in range(10):
        seen.append(store.job_state(job)[0])
        clock.now += 1.0
    assert seen == [
        "NotStarted",
        "Queued",
        "Preparing",
        "Running",
        "Running",
        "Running",
        "Finalizing",
        "Completed",
        "Completed",
        "Completed",
    ]
    _, started, ended = store.job_state(job)
    assert (started, ended) == (103.0, 107.0)


def test_the_outcome_tag_rehearses_a_failing_job() -> None:
    store, clock = _store()
    job = store.add_job("ws", "j", _body(**{OUTCOME_TAG: "Failed"}))
    clock.now += 60
    assert store.job_state(job)[0] == "Failed"


def test_cancel_goes_through_cancel_requested_to_canceled() -> None:
    store, clock = _store()
    job = store.add_job("ws", "j", _body())
    clock.now += 3.5  # Running
    store.cancel_job("ws", "j")
    assert store.job_state(job)[0] == "CancelRequested"
    clock.now += 1.0
    assert store.job_state(job)[0] == "Canceled"
    assert store.job_log(job).rstrip().endswith("job Canceled")


def test_cancelling_an_ended_job_changes_nothing() -> None:
    store, clock = _store()
    job = store.add_job("ws", "j", _body())
    clock.now += 60
    store.cancel_job("ws", "j")
    assert store.job_state(job)[0] == "Completed"
    assert store.cancel_job("ws", "missing") is None


def test_the_log_grows_with_the_job() -> None:
    store, clock = _store()
    job = store.add_job("ws", "j", _body())
    early = store.job_log(job)
    clock.now += 60
    late = store.job_log(job)
    assert late.startswith(early)
    assert "python -m trainers" in late and late.rstrip().endswith("job Completed")


def test_jobs_are_listed_newest_first_per_workspace() -> None:
    store, clock = _store()
    store.add_job("ws", "old", _body())
    clock.now += 1
    store.add_job("ws", "new", _body())
    store.add_job("other", "elsewhere", _body())
    assert [j.name for j in store.list_jobs("ws")] == ["new", "old"]


def test_the_store_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    store, _ = _store()
    monkeypatch.setattr(fake_store, "MAX_JOBS", 2)
    monkeypatch.setattr(fake_store, "MAX_BLOB_BYTES", 10)
    store.add_job("ws", "a", _body())
    store.add_job("ws", "b", _body())
    with pytest.raises(StoreFull):
        store.add_job("ws", "c", _body())
    store.put_blob("c", "x", b"12345678", {})
    store.put_blob("c", "x", b"1234567890", {})  # replacing counts only the growth
    with pytest.raises(StoreFull):
        store.put_blob("c", "y", b"1", {})


def test_injected_faults_are_used_up() -> None:
    store, _ = _store()
    store.inject_fault("/jobs/", 503, times=2)
    assert store.take_fault("/x/jobs/j") == 503
    assert store.take_fault("/x/computes/c") is None
    assert store.take_fault("/x/jobs/j") == 503
    assert store.take_fault("/x/jobs/j") is None

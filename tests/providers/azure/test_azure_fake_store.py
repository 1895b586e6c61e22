"""The fake workspace's memory: how a job moves through Azure ML's states, and its bounds."""

from __future__ import annotations

import pytest

from providers.azure.rehearsal import fake_store
from providers.azure.rehearsal.fake_store import OUTCOME_TAG, FakeStore, StoreFull


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


def _sweep(total: int, parallel: int) -> dict[str, object]:
    return {
        "properties": {
            "jobType": "Sweep",
            "tags": {},
            "limits": {"maxTotalTrials": total, "maxConcurrentTrials": parallel},
            "objective": {"primaryMetric": "val_loss", "goal": "minimize"},
            "trial": {"command": "python -m trainers"},
        }
    }


def test_a_sweep_runs_its_trials_in_waves_while_it_is_running() -> None:
    store, clock = _store()
    sweep = store.add_job("ws", "s", _sweep(total=3, parallel=2))
    assert store.children("ws", "s") == []  # nothing is scheduled before the sweep runs
    clock.now += 3.0  # the sweep starts Running: the first wave is scheduled
    assert [c.name for c in store.children("ws", "s")] == ["s_0", "s_1"]
    clock.now += 7.0  # one trial's whole life (7 steps): the second wave starts
    first, second, third = store.children("ws", "s")
    assert [store.job_state(c)[0] for c in (first, second, third)] == [
        "Completed",
        "Completed",
        "NotStarted",
    ]
    assert store.job_state(sweep)[0] == "Running"
    clock.now += 7.0 + 1.0  # the last trial ends, then the sweep finalizes
    assert store.job_state(sweep)[0] == "Completed"
    assert [j.name for j in store.list_jobs("ws")] == ["s"]  # trials are not top-level jobs
    result = store.sweep_result(sweep)
    assert result["best_child_run_id"] in {"s_0", "s_1", "s_2"}
    assert 0.0 < float(result["score"]) < 1.0
    assert store.sweep_result(sweep) == result  # seeded by the sweep's name


def test_cancelling_a_sweep_cancels_its_running_trials_and_drops_unscheduled_ones() -> None:
    store, clock = _store()
    store.add_job("ws", "s", _sweep(total=4, parallel=2))
    clock.now += 4.0  # first wave running
    store.cancel_job("ws", "s")
    clock.now += 1.0
    trials = store.children("ws", "s")
    assert [t.name for t in trials] == ["s_0", "s_1"]
    assert {store.job_state(t)[0] for t in trials} == {"Canceled"}
    clock.now += 60.0
    assert len(store.children("ws", "s")) == 2  # s_2 and s_3 never run


def test_a_sweep_cannot_spawn_past_the_job_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_store, "MAX_JOBS", 3)
    store, _ = _store()
    with pytest.raises(StoreFull):
        store.add_job("ws", "s", _sweep(total=4, parallel=2))
    assert store.list_jobs("ws") == []

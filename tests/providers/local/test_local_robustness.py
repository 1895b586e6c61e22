"""Runs that go wrong around the job: racing submits, unstartable ranks, lost supervisors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from local_support import ScriptPlan, bounded_until, load_spec, wait_done

from cloudgd.plan import JobHandle, JobState, JobStatus, RenderContext
from providers.local.observe import observe
from providers.local.provider import LocalProvider
from providers.local.rundir import RunDir, new_state, write_json_atomic
from providers.local.trust import ROOT_MARKER


def fake_run(root: Path, **state: object) -> RunDir:
    """A run dir holding only a plan and the given state (no processes)."""
    run = RunDir(root / "job-1")
    (run.path / "logs").mkdir(parents=True)
    run.plan_file.write_text(json.dumps({"request": {"layout": {"artifacts": {}}}}))
    write_json_atomic(run.state_file, {**new_state("job-1"), **state})
    return run


def test_a_run_whose_supervisor_never_started_fails_after_a_timeout(tmp_path: Path) -> None:
    long_ago = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    run = fake_run(tmp_path, created_at=long_ago)
    (run.supervisor_log).write_text("ModuleNotFoundError: No module named 'providers'\n")
    state = observe(run)
    assert state["state"] == "failed"
    assert state["message"].startswith("the supervisor never started within 30s")
    assert "ModuleNotFoundError" in state["message"]


def test_a_fresh_pending_run_stays_pending(tmp_path: Path) -> None:
    assert observe(fake_run(tmp_path))["state"] == "pending"


def test_a_recorded_supervisor_that_no_longer_exists_means_failed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run = fake_run(tmp_path, state="running", supervisor={"pid": gone.pid, "start_time": None})
    state = observe(run)
    assert state["state"] == "failed"
    assert "died without recording an exit code" in state["message"]
    assert observe(run)["ended_at"] == state["ended_at"]  # settled once


def test_a_reused_pid_is_not_mistaken_for_the_supervisor(tmp_path: Path) -> None:
    # our own pid is alive, but with another start time it is not the recorded supervisor
    run = fake_run(tmp_path, state="running", supervisor={"pid": os.getpid(), "start_time": 1})
    assert observe(run)["state"] == "failed"


def test_a_run_from_another_host_is_not_judged_here(tmp_path: Path) -> None:
    run = fake_run(tmp_path, state="running", host="other-machine", supervisor={"pid": 1})
    state = observe(run)
    assert state["state"] == "running"
    assert state["message"] == "runs on host other-machine; not checked from here"


@pytest.mark.slow
def test_racing_submits_of_one_plan_start_one_run(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    plan = scripted(provider.plan(load_spec(), ctx), "print('ran', flush=True)\n")
    results: list[JobStatus] = []
    threads = [
        threading.Thread(target=lambda: results.append(LocalProvider().submit(plan)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 3
    assert sum(1 for r in results if not r.extra.get("existing")) == 1
    final = wait_done(provider, results[0])
    assert final.state is JobState.SUCCEEDED
    run = RunDir(plan.request["run_dir"])
    assert run.rank_log(0).read_text() == "ran\n"
    debris = [p for p in run.path.parent.iterdir() if p.name.startswith(".")]
    assert debris == [run.path.parent / ROOT_MARKER]  # only the runs dir's marker


@pytest.mark.slow
def test_a_rank_that_cannot_start_fails_the_job_with_the_reason(
    provider: LocalProvider, ctx: RenderContext
) -> None:
    plan = provider.plan(load_spec(), ctx)
    ranks = [{**r, "cwd": "/no/such/dir"} for r in plan.request["ranks"]]
    broken = plan.model_copy(update={"request": {**plan.request, "ranks": ranks}})
    final = wait_done(provider, provider.submit(broken))
    assert final.state is JobState.FAILED
    assert final.message is not None
    assert final.message.startswith("could not start rank 0: [Errno 2]")


@pytest.mark.slow
def test_sigterm_to_the_supervisor_stops_the_job_cleanly(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    script = "import time\nprint('ready', flush=True)\ntime.sleep(120)\n"
    plan = scripted(provider.plan(load_spec(), ctx), script)
    run = RunDir(plan.request["run_dir"])
    handle = JobHandle.parse(provider.submit(plan).handle)
    assert bounded_until(lambda: run.job_log.exists() and "ready" in run.job_log.read_text())
    state = run.read_state() or {}
    os.kill(state["supervisor"]["pid"], signal.SIGTERM)
    final = wait_done(provider, provider.status(handle))
    assert final.state is JobState.CANCELLED
    assert final.message == "stopped: the supervisor received a termination signal"

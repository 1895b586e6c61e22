"""A run's files damaged or gone under it: every command still answers and runs end.

state.json unparsable or wrong-typed, plan.json unreadable, the run directory
deleted while training, a state directory that is a file or /proc/self, and a
full disk during training (a real small filesystem, mounted when permitted).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from local_support import FIXED_NOW, ScriptPlan, bounded_until, load_spec, wait_done

from cloudgd.cli.main import cli
from cloudgd.plan import JobHandle, JobState, RenderContext
from providers.local import procs
from providers.local.provider import LocalProvider
from providers.local.rundir import RunDir

SLEEPER = "import time\nprint('ready', flush=True)\ntime.sleep(120)\n"
QUICK = "print('done', flush=True)\n"


def submit(provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, script: str):
    plan = scripted(provider.plan(load_spec(), ctx), script)
    status = provider.submit(plan)
    return RunDir(plan.request["run_dir"]), JobHandle.parse(status.handle)


def cloudgd(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_an_unparsable_state_of_a_finished_job_ends_failed_with_a_clear_message(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    run, handle = submit(provider, ctx, scripted, QUICK)
    assert wait_done(provider, provider.status(handle)).state is JobState.SUCCEEDED
    sup = (run.read_state() or {})["supervisor"]
    assert bounded_until(lambda: not procs.alive(sup["pid"], sup["start_time"]))
    run.state_file.write_text("{not json")

    final = provider.wait(handle, timeout=30, poll=0.05)  # it used to stay PENDING forever

    assert final.state is JobState.FAILED
    assert final.message is not None and "state.json was unreadable" in final.message
    assert (run.path / "state.json.corrupt").read_text() == "{not json"
    assert list(provider.logs(handle, follow=True))  # follow ends
    assert cloudgd("list")[0] == 0


def test_an_unparsable_state_of_a_running_job_is_rebuilt_from_its_supervisor(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    run, handle = submit(provider, ctx, scripted, SLEEPER)
    assert bounded_until(lambda: run.job_log.exists() and "ready" in run.job_log.read_text())
    run.state_file.write_text("")

    rebuilt = provider.status(handle)

    assert rebuilt.state is JobState.RUNNING, rebuilt.message
    assert "rebuilt from the running supervisor" in (rebuilt.message or "")
    final = provider.cancel(handle)  # the rebuilt record is enough to stop it
    assert final.state is JobState.CANCELLED


@pytest.mark.parametrize(
    "damage",
    [
        {"state": 5, "ranks": "x", "supervisor": [1], "created_at": 7},
        {"ranks": [1, {"pid": "12", "rank": 0}], "exit_code": "0", "attempt": -3},
        {"supervisor": {"pid": "1", "start_time": "0"}, "host": 42},
    ],
)
def test_a_wrong_typed_state_neither_breaks_list_nor_stays_pending(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, damage: dict[str, object]
) -> None:
    run, handle = submit(provider, ctx, scripted, QUICK)
    wait_done(provider, provider.status(handle))
    state = json.loads(run.state_file.read_text())
    state.update(damage, state=damage.get("state", "running"))
    run.state_file.write_text(json.dumps(state))

    code, output = cloudgd("list")
    assert code == 0 and "Traceback" not in output, output
    final = provider.wait(handle, timeout=60, poll=0.1)
    assert final.state.terminal, (final.state, final.message)
    for command in ("status", "logs"):
        code, output = cloudgd(command, str(handle))
        assert code == 0, output


def test_cancel_with_an_unreadable_plan_still_stops_the_job(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    run, handle = submit(provider, ctx, scripted, SLEEPER)
    assert bounded_until(lambda: run.job_log.exists() and "ready" in run.job_log.read_text())
    run.plan_file.write_text("\0garbage")
    code, output = cloudgd("cancel", str(handle))
    assert code == 0, output
    assert provider.status(handle).state is JobState.CANCELLED


def test_deleting_a_running_jobs_directory_stops_its_training(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    run, _ = submit(provider, ctx, scripted, SLEEPER)
    assert bounded_until(lambda: run.job_log.exists() and "ready" in run.job_log.read_text())
    state = run.read_state() or {}
    rank = state["ranks"][0]
    sup = state["supervisor"]

    subprocess.run(["rm", "-rf", str(run.path)], check=True)

    assert bounded_until(lambda: not procs.alive(rank["pid"], rank["start_time"]), 30)
    assert bounded_until(lambda: not procs.alive(sup["pid"], sup["start_time"]), 30)
    assert not run.path.exists()  # nothing was written back into it


@pytest.mark.parametrize("where", ["/etc/hostname", "/proc/self", "/proc/self/fd"])
def test_a_state_dir_that_is_a_file_or_in_proc_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    for variable in ("CLOUDGD_HOME", "CLOUDGD_RUNS_DIR"):
        with monkeypatch.context() as patch:
            patch.setenv(variable, where)
            for args in (("list",), ("status", "some-job"), ("servers", "list")):
                code, output = cloudgd(*args)
                if variable == "CLOUDGD_RUNS_DIR" and args[0] == "servers":
                    continue  # servers live in CLOUDGD_HOME
                assert code == 2, (variable, args, output)
                assert variable in output or "runs directory" in output
                assert len(output.strip().splitlines()) <= 2  # the line and its hint


# -- a full disk during a run -------------------------------------------------------------
@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, mounted only where this process may (root in CI); skipped otherwise."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        with contextlib.suppress(OSError):
            subprocess.run(["umount", "-l", str(mount)], check=False, timeout=30)


FILL = """
import os, sys, time
print('filling', flush=True)
# unbuffered: a buffered file keeps the bytes a short write left over and raises ENOSPC
# again when it is closed, which would end the script with a traceback instead of exit 3
with open(os.path.join(os.environ.get('FILL_DIR', '.'), 'ballast'), 'wb', buffering=0) as out:
    try:
        while True:
            out.write(b'x' * 65536)
            out.flush()
    except OSError as exc:
        print('disk full:', exc, flush=True)
for i in range(200):
    print('line', i, 'after the disk filled up', flush=True)
sys.exit(3)
"""


def test_a_full_disk_during_a_run_leaves_state_readable_and_commands_answering(
    small_fs: Path, monkeypatch: pytest.MonkeyPatch, scripted: ScriptPlan
) -> None:
    monkeypatch.setenv("CLOUDGD_HOME", str(small_fs / "home"))
    provider = LocalProvider(runs_dir=str(small_fs / "home" / "runs"))
    ctx = RenderContext(now=FIXED_NOW)
    plan = scripted(provider.plan(load_spec(), ctx), FILL)
    run = RunDir(plan.request["run_dir"])
    ranks = [{**r, "env": {**r["env"], "FILL_DIR": str(run.path)}} for r in plan.request["ranks"]]
    plan = plan.model_copy(update={"request": {**plan.request, "ranks": ranks}})

    handle = JobHandle.parse(provider.submit(plan).handle)
    final = provider.wait(handle, timeout=60, poll=0.1)

    assert final.state is JobState.FAILED, (final.state, final.message)
    recorded = json.loads(run.state_file.read_text())
    assert recorded["state"] == "failed", (final.message, run.supervisor_log.read_text())
    assert os.statvfs(small_fs).f_bavail == 0  # still full while every command answers
    for args in (("status", str(handle)), ("list",), ("logs", str(handle)), ("wait", str(handle))):
        code, output = cloudgd(*args)
        assert code in (0, 4), (args, output)
        assert "Traceback" not in output and "internal error" not in output

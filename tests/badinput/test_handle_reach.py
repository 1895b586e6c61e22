"""A handle reaches only runs cloudgd created: no signal, no write anywhere else.

An attacker's directory holds a ``state.json`` naming a live process (with its
true start time, so a pid check alone would trust it) and a cancel-ready state.
Whatever form the handle takes, cloudgd refuses it with exit 2 and leaves both
the process and the directory untouched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.local import procs
from providers.local.rundir import new_state
from tests.badinput.conftest import Invoke


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A process cloudgd did not start (its own process group, like a rank)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], process_group=0)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def plant_run(directory: Path, pid: int) -> Path:
    """A directory that looks like a running local job whose rank and supervisor are ``pid``."""
    directory.mkdir(parents=True)
    born = procs.start_time(pid)
    state = new_state(directory.name)
    state.update(
        state="running",
        supervisor={"pid": pid, "start_time": born},
        ranks=[{"rank": 0, "pid": pid, "start_time": born, "exit_code": None}],
    )
    (directory / "state.json").write_text(json.dumps(state))
    plan = {"provider": "local", "request": {"grace_period": 0, "layout": {"artifacts": {}}}}
    (directory / "plan.json").write_text(json.dumps(plan))
    return directory


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def handles_for(planted: Path) -> list[str]:
    return [
        str(planted),
        f"local://{planted}",
        f"aws://us-east-1/job-1?backend=moto&run={planted}",
        f"gcp://proj/us-central1/123?backend=fake&run={planted}",
        f"azure://sub/rg/ws/job-1?backend=fake&run={planted}",
    ]


@pytest.mark.parametrize("command", ["status", "cancel", "logs", "wait", "report"])
def test_a_handle_to_a_directory_cloudgd_did_not_create_is_refused(
    invoke: Invoke, tmp_path: Path, bystander: subprocess.Popen[bytes], command: str
) -> None:
    planted = plant_run(tmp_path / "elsewhere" / "job-1", bystander.pid)
    before = snapshot(planted)
    for handle in handles_for(planted):
        result = invoke(command, handle)
        assert result.exit_code == 2, (handle, result.output)
        assert "not a run directory created by cloudgd" in result.output
        assert "Traceback" not in result.output
    assert bystander.poll() is None  # never signalled
    assert snapshot(planted) == before  # no state.json rewrite, no .state.lock


def test_a_run_name_symlinked_out_of_the_runs_dir_is_refused(
    invoke: Invoke, home: Path, tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    planted = plant_run(tmp_path / "elsewhere" / "job-1", bystander.pid)
    (planted / ".cloudgd-run").write_text("{}")  # even a copied marker does not help
    runs = home / "runs"
    runs.mkdir(parents=True)
    (runs / ".cloudgd-runs").write_text("{}")
    (runs / "job-1").symlink_to(planted)
    before = snapshot(planted)
    for handle in ("job-1", f"local://{runs / 'job-1'}"):
        result = invoke("cancel", handle)
        assert result.exit_code == 2, result.output
    assert bystander.poll() is None
    assert snapshot(planted) == before


def test_a_symlinked_marker_does_not_make_a_directory_a_run(
    invoke: Invoke, home: Path, bystander: subprocess.Popen[bytes]
) -> None:
    runs = home / "runs"
    planted = plant_run(runs / "job-1", bystander.pid)
    (runs / ".cloudgd-runs").write_text("{}")
    (planted / ".cloudgd-run").symlink_to("/etc/hostname")
    assert invoke("cancel", "job-1").exit_code == 2
    assert bystander.poll() is None


def test_a_recorded_pid_is_only_the_supervisor_while_its_command_line_says_so(
    bystander: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    born = procs.start_time(bystander.pid)
    assert procs.alive(bystander.pid, born)
    assert not procs.is_supervisor(bystander.pid, born, str(tmp_path))
    assert not procs.alive(bystander.pid, (born or 0) + 1)  # a recycled pid
    assert not procs.alive(bystander.pid, None)  # no start time recorded: not trusted
    assert not procs.alive("1", born)  # a string from a hand-edited state.json


@pytest.mark.parametrize("command", ["status", "cancel", "logs"])
def test_a_study_handle_to_a_directory_cloudgd_did_not_create_is_refused(
    invoke: Invoke, tmp_path: Path, bystander: subprocess.Popen[bytes], command: str
) -> None:
    study = tmp_path / "elsewhere" / "studies" / "tune-1"
    study.mkdir(parents=True)
    (study / "study.json").write_text(json.dumps({"state": "RUNNING", "pid": bystander.pid}))
    before = snapshot(study)
    result = invoke(command, f"local://{study}?kind=tuning")
    assert result.exit_code == 2, result.output
    assert "not a tuning study created by cloudgd" in result.output
    assert snapshot(study) == before and not (study / "cancel-requested").exists()
    assert bystander.poll() is None

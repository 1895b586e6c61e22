"""The CLI killed (SIGKILL, no cleanup) while following a job: the job goes on, and
``status`` and ``logs`` work afterwards from a fresh process, with the handle alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
JOB = {
    "name": "followed-job",
    "trainer": {
        "model": {"kind": "mlp", "hidden": [32]},
        "data": {"source": "digits"},
        "epochs": 8,
        "num_threads": 1,
    },
}


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "CLOUDGD_HOME": str(home)}


def cloudgd(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudgd", *args],
        env=env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )


def kill_when_it_printed(proc: subprocess.Popen[str], lines: int) -> list[str]:
    """Read ``lines`` lines of the follower's output, then SIGKILL it."""
    seen: list[str] = []
    assert proc.stdout is not None
    while len(seen) < lines:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("follower", ["submit --follow", "logs --follow"])
def test_status_and_logs_work_after_the_following_cli_was_killed(
    tmp_path: Path, home: Path, follower: str
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(JOB))
    planned = cloudgd(home, "-o", "json", "plan", str(job), "-p", "local")
    assert planned.returncode == 0, planned.stderr
    handle = json.loads(planned.stdout)["handle"]

    if follower == "submit --follow":
        argv = ["submit", str(job), "-p", "local", "--follow"]
    else:
        submitted = cloudgd(home, "submit", str(job), "-p", "local")
        assert submitted.returncode == 0, submitted.stderr
        argv = ["logs", handle, "--follow"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudgd", *argv],
        env=env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed = kill_when_it_printed(proc, 3)
    assert printed, "the follower printed nothing before it was killed"

    status = cloudgd(home, "-o", "json", "status", handle)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] in ("STARTING", "RUNNING", "SUCCEEDED")
    waited = cloudgd(home, "wait", handle, "--timeout", "240")
    assert waited.returncode == 0, waited.stderr
    logs = cloudgd(home, "logs", handle)
    assert logs.returncode == 0, logs.stderr
    assert printed[-1].strip() in logs.stdout  # what was shown before the kill is all there
    final = json.loads(cloudgd(home, "-o", "json", "status", handle).stdout)
    assert final["state"] == "SUCCEEDED"

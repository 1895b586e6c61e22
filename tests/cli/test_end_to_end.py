"""The real thing, through the installed entry point: separate processes, real providers.

Each step is a new ``python -m cloudgd`` process, as a user (or CI) would run them:
submit, then status/logs/list from fresh processes. Needs the trainer package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DIGITS = str(REPO / "examples" / "digits.yaml")
Run = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (REPO / "trainers" / "__main__.py").exists(), reason="the trainer is not on this branch"
    ),
]


@pytest.fixture
def cloudgd(tmp_path: Path) -> Iterator[Run]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CLOUDGD_HOME": str(tmp_path / "home"),
        "OMP_NUM_THREADS": "1",
    }
    for name in ("CLOUDGD_OUTPUT", "CLOUDGD_RUNS_DIR", "GITHUB_SHA", "CLOUDGD_AWS_ENDPOINT"):
        env.pop(name, None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "cloudgd", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    yield run
    # Stop the rehearsal server a test may have started (it runs detached).
    subprocess.run(
        [sys.executable, "-c", "from cloudgd import servers; servers.stop('moto')"],
        env=env,
        timeout=60,
        check=False,
    )


def test_local_submit_wait_then_follow_up_from_new_processes(cloudgd: Run) -> None:
    run = cloudgd
    submitted = run("-o", "json", "submit", DIGITS, "-p", "local", "--wait",
                    "--set", "trainer.epochs=1", "--poll", "0.2")  # fmt: skip
    document = json.loads(submitted.stdout)
    assert document["state"] == "SUCCEEDED"
    handle = document["handle"]
    assert handle.startswith("local://")
    status = json.loads(run("-o", "json", "status", handle).stdout)
    assert status["state"] == "SUCCEEDED" and status["exit_code"] == 0
    assert "val_accuracy=" in run("logs", handle).stdout
    listed = json.loads(run("-o", "json", "list").stdout)["jobs"]
    assert [job["handle"] for job in listed] == [handle]
    again = json.loads(run("-o", "json", "submit", DIGITS, "-p", "local",
                           "--set", "trainer.epochs=1").stdout)  # fmt: skip
    assert again["handle"] == handle  # same spec, same job


def test_aws_rehearsal_with_a_local_run(cloudgd: Run) -> None:
    run = cloudgd
    submitted = run("-o", "json", "submit", DIGITS, "-p", "aws", "--backend", "moto",
                    "--run-local", "--wait", "--poll", "0.2",
                    "--set", "trainer.epochs=1")  # fmt: skip
    document = json.loads(submitted.stdout)
    assert document["state"] == "SUCCEEDED"
    assert "backend=moto" in document["handle"] and "run=" in document["handle"]
    assert document["status"]["extra"]["emulate"] == "aws"
    logs = run("logs", document["handle"]).stdout
    assert "val_loss=" in logs

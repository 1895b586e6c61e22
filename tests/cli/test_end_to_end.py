"""The real thing, through the installed entry point: separate processes, real providers.

Each step is a new ``python -m cloudgd`` process, as a user (or CI) would run them:
submit, then status/logs/list from fresh processes. Needs the trainer package.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_process import REPO, Run, clean_env, cloudgd_processes

DIGITS = str(REPO / "examples" / "digits.yaml")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (REPO / "trainers" / "__main__.py").exists(), reason="the trainer is not on this branch"
    ),
]


@pytest.fixture
def cloudgd(tmp_path: Path) -> Iterator[Run]:
    env = clean_env(tmp_path / "home", drop=("CLOUDGD_", "AWS_ENDPOINT"))
    with cloudgd_processes(tmp_path, env, servers=("moto",)) as run:
        yield run


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

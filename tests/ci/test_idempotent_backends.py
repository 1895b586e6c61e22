"""The same submit twice with the same idempotency key gives the same handle and one
job, on every backend: moto (aws), the Vertex AI and Azure ML fakes, and local.

Runs the real providers through the CLI; the rehearsal servers listen on 127.0.0.1
and are stopped after each test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudgd import servers
from tests.ci.conftest import Invoke

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DIGITS = str(REPO / "examples" / "digits.yaml")
SERVERS = ("moto", "gcp-fake", "azure-fake")


@pytest.fixture(autouse=True)
def stop_servers(cloudgd_home: Path) -> Iterator[None]:
    yield
    for name in SERVERS:
        servers.stop(name)


@pytest.mark.parametrize(
    "where",
    [
        ("-p", "aws", "--backend", "moto"),
        ("-p", "gcp", "--backend", "fake"),
        ("-p", "azure", "--backend", "fake"),
        ("-p", "local"),
    ],
    ids=["moto", "gcp-fake", "azure-fake", "local"],
)
def test_submitting_twice_with_one_key_makes_one_job(
    invoke: Invoke, where: tuple[str, ...]
) -> None:
    args = ("-o", "json", "submit", DIGITS, *where, "--set", "trainer.epochs=1")
    first = invoke(*args, "--idempotency-key", "ci-run-1")
    assert first.exit_code == 0, first.stderr
    again = invoke(*args, "--idempotency-key", "ci-run-1")
    assert again.exit_code == 0, again.stderr
    submitted, resubmitted = json.loads(first.stdout), json.loads(again.stdout)
    assert resubmitted["handle"] == submitted["handle"]
    assert resubmitted["job_name"] == submitted["job_name"]

    other = invoke(*args, "--idempotency-key", "ci-run-2")
    assert json.loads(other.stdout)["job_name"] != submitted["job_name"]

    listed = invoke("-o", "json", "list", *where)
    assert listed.exit_code == 0, listed.stderr
    names = [job["name"] for job in json.loads(listed.stdout)["jobs"]]
    assert names.count(submitted["job_name"]) == 1
    assert len(names) == 2  # ci-run-1 once, ci-run-2 once

    if where[1] == "local":  # let the local trainer runs finish before the tmp dir goes
        for handle in (submitted["handle"], json.loads(other.stdout)["handle"]):
            assert invoke("wait", handle, "--poll", "0.2").exit_code == 0


@pytest.mark.parametrize(
    "where",
    [("-p", "aws", "--backend", "moto"), ("-p", "gcp", "--backend", "fake"),
     ("-p", "azure", "--backend", "fake")],
    ids=["moto", "gcp-fake", "azure-fake"],
)  # fmt: skip
def test_a_github_rerun_attaches_to_the_first_attempts_job(
    invoke: Invoke, where: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    github = {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "0123abcd", "GITHUB_RUN_ID": "77"}
    for name, value in github.items():
        monkeypatch.setenv(name, value)
    args = ("-o", "json", "submit", DIGITS, *where)
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "1")
    first = json.loads(invoke(*args).stdout)
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    rerun = invoke(*args)
    assert rerun.exit_code == 0, rerun.stderr
    assert json.loads(rerun.stdout)["handle"] == first["handle"]
    assert "attempt 2 of this CI run: attaching to" in rerun.stderr
    names = [job["name"] for job in json.loads(invoke("-o", "json", "list", *where).stdout)["jobs"]]
    assert names == [first["job_name"]]

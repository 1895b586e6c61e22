"""submit: dry runs, plain submits, --wait, --follow, rehearsal and exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudgd.plan import JobHandle
from tests.cli.conftest import DIGITS, Invoke
from tests.cli.fakes import LOG_LINES, load_jobs


def test_dry_run_plans_and_submits_nothing(invoke: Invoke) -> None:
    result = invoke("submit", DIGITS, "-p", "fake", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "fake:CreateJob" in result.stdout
    assert "dry run: nothing was submitted" in result.stderr
    assert load_jobs() == {}


def test_dry_run_json_carries_handle_and_plan(invoke: Invoke) -> None:
    result = invoke("-o", "json", "submit", DIGITS, "-p", "fake", "--dry-run")
    document = json.loads(result.stdout)
    assert document["dry_run"] is True
    assert document["state"] is None
    assert document["handle"] == document["plan"]["handle"]


def test_submit_prints_the_handle_on_stdout_and_hints_on_stderr(invoke: Invoke) -> None:
    result = invoke("submit", DIGITS, "-p", "fake")
    assert result.exit_code == 0, result.stderr
    handle = result.stdout.strip()
    assert handle.startswith("fake://zone-1/digits-mlp-")
    assert "submitted digits-mlp-" in result.stderr
    assert f"cloudgd logs --follow '{handle}'" in result.stderr


def test_submit_twice_attaches_to_the_same_job(invoke: Invoke) -> None:
    first = invoke("submit", DIGITS, "-p", "fake", "--idempotency-key", "ci-1")
    second = invoke("submit", DIGITS, "-p", "fake", "--idempotency-key", "ci-1")
    other = invoke("submit", DIGITS, "-p", "fake", "--idempotency-key", "ci-2")
    assert first.stdout == second.stdout != other.stdout
    assert len(load_jobs()) == 2


def test_submit_json_is_one_document_with_handle_and_state(invoke: Invoke) -> None:
    result = invoke("-o", "json", "submit", DIGITS, "-p", "fake")
    document = json.loads(result.stdout)
    assert document["handle"].startswith("fake://zone-1/")
    assert document["state"] == "PENDING"
    assert document["status"]["name"] == document["job_name"]


def test_wait_until_succeeded_exits_0(invoke: Invoke) -> None:
    result = invoke("-o", "json", "submit", DIGITS, "-p", "fake", "--wait", "--poll", "0.01")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "SUCCEEDED"
    assert "RUNNING (FakeRunning)" in result.stderr


def test_wait_on_a_failed_job_exits_4(invoke: Invoke) -> None:
    result = invoke(
        "-o", "json", "submit", DIGITS, "-p", "fake", "--wait", "--poll", "0.01",
        "--set", "env.FAKE_OUTCOME=FAILED",
    )  # fmt: skip
    assert result.exit_code == 4
    assert json.loads(result.stdout)["state"] == "FAILED"
    assert "cloudgd: error: job digits-mlp-" in result.stderr
    assert "ended FAILED: exit code 1" in result.stderr


def test_follow_prints_plain_log_lines_off_a_terminal(invoke: Invoke) -> None:
    result = invoke("submit", DIGITS, "-p", "fake", "--follow")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fake://")
    assert lines[1:] == LOG_LINES
    assert "\x1b[" not in result.output  # no colour, no spinner


def test_follow_in_json_mode_keeps_stdout_to_one_document(invoke: Invoke) -> None:
    result = invoke("-o", "json", "submit", DIGITS, "-p", "fake", "-f")
    assert json.loads(result.stdout)["state"] == "SUCCEEDED"
    assert LOG_LINES[1] in result.stderr


def test_follow_exits_4_when_the_job_fails(invoke: Invoke, job_file: Callable[..., str]) -> None:
    path = job_file("env: {FAKE_OUTCOME: FAILED}\n")
    result = invoke("submit", path, "-p", "fake", "--follow")
    assert result.exit_code == 4


@pytest.mark.usefixtures("fake_aws")
def test_rehearsal_runs_locally_and_joins_the_handles(invoke: Invoke) -> None:
    result = invoke("-o", "json", "submit", DIGITS, "-p", "aws", "--backend", "moto", "--run-local")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    handle = JobHandle.parse(document["handle"])
    assert handle.params["backend"] == "moto"
    run = handle.params["run"]
    assert Path(run).parent == Path(os.environ["CLOUDGD_HOME"]) / "runs"
    assert set(load_jobs()) == {document["job_name"], Path(run).name}  # cloud job + local run
    assert document["status"]["name"] == Path(run).name  # its status follows the local run
    status = invoke("-o", "json", "status", document["handle"])
    assert json.loads(status.stdout)["name"] == Path(run).name


def test_rehearsal_local_plan_emulates_the_cloud() -> None:
    from cloudgd.loader import load_spec
    from cloudgd.rehearsal import emulating

    spec = load_spec(DIGITS).spec
    assert emulating(spec, "gcp").providers.local.emulate == "gcp"
    assert emulating(spec, "gcp").trainer == spec.trainer


def test_run_local_refuses_providers_it_cannot_emulate(invoke: Invoke) -> None:
    result = invoke("submit", DIGITS, "-p", "fake", "--backend", "rehearsal", "--run-local")
    assert result.exit_code == 2
    assert "--run-local can emulate aws, gcp, azure, not 'fake'" in result.stderr


@pytest.mark.usefixtures("fake_aws")
def test_run_local_needs_a_rehearsal_backend(invoke: Invoke, cloudgd_home: Path) -> None:
    result = invoke("submit", DIGITS, "-p", "aws", "--run-local")
    assert result.exit_code == 2
    assert "--run-local needs a rehearsal backend" in result.stderr
    assert "hint: add --backend moto" in result.stderr
    assert load_jobs() == {}
    assert not (cloudgd_home / "bundles").exists()  # refused before any work


def test_run_local_with_the_local_provider_is_refused(invoke: Invoke) -> None:
    result = invoke("submit", DIGITS, "-p", "local", "--run-local")
    assert result.exit_code == 2
    assert "--provider local already runs here" in result.stderr


def test_unknown_backend_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("submit", DIGITS, "-p", "fake", "--backend", "moto")
    assert result.exit_code == 2
    assert "--backend 'moto' is not available for provider fake" in result.stderr

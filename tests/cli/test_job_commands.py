"""status, logs, wait, cancel, list and providers: each from a fresh invocation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudgd import registry
from tests.cli.conftest import DIGITS, Invoke
from tests.cli.fakes import LOG_LINES


def submitted(invoke: Invoke, *extra: str) -> str:
    result = invoke("submit", DIGITS, "-p", "fake", *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def test_status_text_shows_state_and_handle(invoke: Invoke) -> None:
    handle = submitted(invoke)
    result = invoke("status", handle)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        f"job      {handle.rsplit('/', 1)[1]}",
        "state    PENDING (FakePending)",
        f"handle   {handle}",
    ]


def test_status_json_is_one_job_status_document(invoke: Invoke) -> None:
    handle = submitted(invoke)
    invoke("status", handle)  # PENDING, then RUNNING: the fake moves a step per look
    invoke("status", handle)
    document = json.loads(invoke("--output", "json", "status", handle).stdout)
    assert document["state"] == "SUCCEEDED"
    assert document["metrics"] == {"val_loss": 0.25}


def test_status_of_an_unknown_job_exits_3(invoke: Invoke) -> None:
    result = invoke("status", "fake://zone-1/nobody-12345678")
    assert result.exit_code == 3
    assert "cloudgd: error: no fake job named 'nobody-12345678'" in result.stderr


def test_status_of_a_malformed_handle_exits_2(invoke: Invoke) -> None:
    result = invoke("status", "not-a-handle")
    assert result.exit_code == 2
    assert "not a job handle: 'not-a-handle'" in result.stderr


def test_a_local_run_is_found_by_its_name_or_directory(invoke: Invoke, cloudgd_home: Path) -> None:
    result = invoke("-o", "json", "submit", DIGITS, "-p", "local")
    run_dir = Path(json.loads(result.stdout)["handle"].removeprefix("local://"))
    run_dir.mkdir(parents=True)  # the fake local provider keeps its state elsewhere
    by_name = invoke("-o", "json", "status", run_dir.name)
    by_path = invoke("-o", "json", "status", str(run_dir))
    assert json.loads(by_name.stdout)["name"] == json.loads(by_path.stdout)["name"] == run_dir.name


def test_logs_prints_lines_and_follow_streams_to_the_end(invoke: Invoke) -> None:
    handle = submitted(invoke)
    assert invoke("logs", handle).stdout.splitlines() == LOG_LINES
    followed = invoke("logs", handle, "--follow")
    assert followed.exit_code == 0
    assert followed.stdout.splitlines() == LOG_LINES


def test_wait_exits_0_on_success_with_state_changes_on_stderr(invoke: Invoke) -> None:
    handle = submitted(invoke)
    result = invoke("wait", handle, "--poll", "0.01")
    assert result.exit_code == 0, result.stderr
    assert "PENDING (FakePending)" in result.stderr
    assert "SUCCEEDED (FakeSucceeded)" in result.stderr


def test_wait_exits_4_when_the_job_failed(invoke: Invoke) -> None:
    handle = submitted(invoke, "--set", "env.FAKE_OUTCOME=FAILED")
    result = invoke("-o", "json", "wait", handle, "--poll", "0.01")
    assert result.exit_code == 4
    assert json.loads(result.stdout)["state"] == "FAILED"
    assert f"hint: see the logs: cloudgd logs '{handle}'" in result.stderr


def test_wait_timeout_exits_124_and_leaves_the_job_running(invoke: Invoke) -> None:
    handle = submitted(invoke, "--set", "env.FAKE_OUTCOME=FOREVER")
    result = invoke("wait", handle, "--timeout", "0s", "--poll", "0.01")
    assert result.exit_code == 124
    assert "is still PENDING after --timeout 0s" in result.stderr


def test_wait_rejects_a_bad_timeout(invoke: Invoke) -> None:
    result = invoke("wait", "fake://zone-1/x", "--timeout", "soon")
    assert result.exit_code == 2
    assert "--timeout: expected a duration like 90s" in result.stderr


def test_cancel_stops_a_running_job_and_is_idempotent(invoke: Invoke) -> None:
    handle = submitted(invoke, "--set", "env.FAKE_OUTCOME=FOREVER")
    first = invoke("-o", "json", "cancel", handle)
    again = invoke("-o", "json", "cancel", handle)
    assert first.exit_code == again.exit_code == 0
    assert json.loads(first.stdout)["state"] == json.loads(again.stdout)["state"] == "CANCELLED"
    waited = invoke("wait", handle)
    assert waited.exit_code == 4


def test_cancel_of_an_ended_job_says_so(invoke: Invoke) -> None:
    handle = submitted(invoke, "--wait", "--poll", "0.01")
    result = invoke("cancel", handle)
    assert result.exit_code == 0
    assert "had already ended (SUCCEEDED); nothing to cancel" in result.stderr


def test_list_shows_jobs_newest_first_and_filters_by_prefix(
    invoke: Invoke, job_file: object
) -> None:
    submitted(invoke)
    submitted(invoke, "--set", "name=other-job")
    listing = json.loads(invoke("-o", "json", "list", "-p", "fake").stdout)
    assert listing["provider"] == "fake"
    assert [job["name"].rsplit("-", 1)[0] for job in listing["jobs"]] == ["other-job", "digits-mlp"]
    only = json.loads(invoke("-o", "json", "list", "-p", "fake", "--prefix", "digits").stdout)
    assert len(only["jobs"]) == 1
    table = invoke("list", "-p", "fake")
    assert table.stdout.splitlines()[0].split() == ["NAME", "STATE", "CREATED", "HANDLE"]
    assert (
        "no fake jobs starting with 'zzz'" in invoke("list", "-p", "fake", "--prefix", "zzz").stdout
    )


def test_list_defaults_to_local_jobs(invoke: Invoke) -> None:
    assert invoke("list").stdout.strip() == "no local jobs"


def test_providers_lists_builtins_plugins_and_missing_extras(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        registry.BUILTINS,
        "cloudx",
        registry.ProviderInfo(
            "cloudx", "cloudx:Provider", "cloudx", ("no_such_sdk_xyz",), "a cloud we lack"
        ),
    )
    text = invoke("providers").stdout
    assert "not installed — pip install 'cloudgd[cloudx]'" in text
    assert {"local", "aws", "gcp", "azure", "fake"} <= {
        line.split()[0] for line in text.splitlines()
    }
    rows = {
        row["name"]: row
        for row in json.loads(invoke("-o", "json", "providers").stdout)["providers"]
    }
    assert rows["cloudx"]["installed"] is False
    assert rows["cloudx"]["install"] == "pip install 'cloudgd[cloudx]'"
    assert rows["fake"]["installed"] is True


def test_using_a_provider_whose_sdk_is_missing_exits_3_with_the_pip_command(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        registry.BUILTINS,
        "cloudx",
        registry.ProviderInfo("cloudx", "cloudx:P", "cloudx", ("no_such_sdk_xyz",), "lacking"),
    )
    result = invoke("plan", DIGITS, "-p", "cloudx")
    assert result.exit_code == 3
    assert "provider 'cloudx' needs no_such_sdk_xyz, which is not installed" in result.stderr
    assert "hint: pip install 'cloudgd[cloudx]'" in result.stderr

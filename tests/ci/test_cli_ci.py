"""submit/wait as CI runs them, against a fake cloud: exit codes, the JSON document,
metric gates, the step summary, and re-runs that attach to an earlier attempt's job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudgd import registry
from tests.ci.conftest import Invoke
from tests.cli.fakes import load_jobs

GITHUB_RUN = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "0123abcd",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_REPOSITORY": "acme/models",
}


@pytest.fixture(autouse=True)
def fake_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fake``: a cloud whose jobs succeed with val_loss=0.25 unless env.FAKE_OUTCOME says."""
    info = registry.ProviderInfo("fake", "tests.cli.fakes:FakeProvider", None, (), "a fake cloud")
    monkeypatch.setitem(registry.BUILTINS, "fake", info)


def job(
    tmp_path: Path, outcome: str = "SUCCEEDED", name: str = "job.yaml", summary: str = ""
) -> str:
    path = tmp_path / name
    env = {"FAKE_OUTCOME": outcome, **({"FAKE_SUMMARY": summary} if summary else {})}
    path.write_text(
        f"name: gated\ntrainer: {{epochs: 3, data: {{source: digits}}}}\nenv: {json.dumps(env)}\n",
        encoding="utf-8",
    )
    return str(path)


def submit(invoke: Invoke, spec: str, *extra: str) -> tuple[int, dict[str, object], str]:
    result = invoke("-o", "json", "submit", spec, "-p", "fake", "--wait", "--poll", "0.01", *extra)
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document, result.stderr


def test_wait_prints_one_json_document_with_metrics_and_exits_0(
    invoke: Invoke, tmp_path: Path
) -> None:
    code, document, stderr = submit(invoke, job(tmp_path))
    assert code == 0, stderr
    assert document["state"] == "SUCCEEDED" and document["passed"] is True
    assert document["metrics"] == {"val_loss": 0.25}
    assert document["handle"] == document["status"]["handle"]  # type: ignore[index]
    for key in ("handle", "job_name", "provider", "console_url", "cost", "duration_seconds"):
        assert key in document
    assert "final metrics:\n  val_loss  0.25" in stderr


def test_a_failed_job_exits_4(invoke: Invoke, tmp_path: Path) -> None:
    code, document, stderr = submit(invoke, job(tmp_path, "FAILED"))
    assert code == 4
    assert document["state"] == "FAILED" and document["passed"] is False
    assert "cloudgd: error: job gated-" in stderr and "ended FAILED: exit code 1" in stderr


def test_a_provider_error_exits_3_and_a_bad_spec_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    assert submit(invoke, job(tmp_path, "REFUSE"))[0] == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: gated\ntrainer: {epochs: -1}\n", encoding="utf-8")
    assert submit(invoke, str(bad))[0] == 2


def test_the_min_metric_gate_fails_the_step_with_one_clear_line(
    invoke: Invoke, tmp_path: Path
) -> None:
    code, document, stderr = submit(invoke, job(tmp_path), "--max-metric", "val_loss=0.1")
    assert code == 4
    assert document["state"] == "SUCCEEDED" and document["passed"] is False
    assert document["gates"] == [
        {"gate": {"bound": "max", "metric": "val_loss", "threshold": 0.1}, "passed": False,
         "value": 0.25}
    ]  # fmt: skip
    assert (
        "cloudgd: error: gate failed: val_loss=0.25 is above 0.1 (--max-metric val_loss=0.1)"
        in stderr
    )


def test_a_met_gate_exits_0_and_says_so(invoke: Invoke, tmp_path: Path) -> None:
    code, document, stderr = submit(invoke, job(tmp_path), "--max-metric", "val_loss=0.3")
    assert code == 0 and document["passed"] is True
    assert "gate passed: val_loss=0.25 is at most 0.3 (--max-metric val_loss=0.3)" in stderr


def test_a_gate_on_a_metric_the_job_never_reports_fails(invoke: Invoke, tmp_path: Path) -> None:
    code, _, stderr = submit(invoke, job(tmp_path), "--min-metric", "val_accuracy=0.9")
    assert code == 4
    assert "the job reported no val_accuracy (it reported: val_loss)" in stderr


def test_a_gate_reads_the_metric_from_the_jobs_summary_when_the_status_has_none(
    invoke: Invoke, tmp_path: Path
) -> None:
    """Vertex and Azure ML report no final metrics: the trainer's summary.json has them."""
    summary = json.dumps({"final": {"val_accuracy": 0.93}, "best": {"val_accuracy": 0.95}})
    code, document, stderr = submit(
        invoke, job(tmp_path, summary=summary), "--min-metric", "val_accuracy=0.9"
    )
    assert code == 0, stderr
    assert document["passed"] is True
    assert document["metrics"] == {
        "val_loss": 0.25,
        "val_accuracy": 0.93,
        "best_val_accuracy": 0.95,
    }
    assert "gate passed: val_accuracy=0.93 is at least 0.9" in stderr

    code, _, stderr = submit(
        invoke, job(tmp_path, summary=summary, name="again.yaml"), "--min-metric",
        "val_accuracy=0.94", "--idempotency-key", "second",
    )  # fmt: skip
    assert code == 4
    assert "val_accuracy=0.93 is below 0.94" in stderr


def test_gates_need_wait_and_a_well_formed_value(invoke: Invoke, tmp_path: Path) -> None:
    spec = job(tmp_path)
    no_wait = invoke("submit", spec, "-p", "fake", "--min-metric", "val_accuracy=0.9")
    assert no_wait.exit_code == 2 and "needs --wait or --follow" in no_wait.stderr
    assert load_jobs() == {}  # refused before anything was submitted
    malformed = invoke("submit", spec, "-p", "fake", "--wait", "--min-metric", "val_accuracy")
    assert malformed.exit_code == 2 and "expected NAME=VALUE" in malformed.stderr


def test_wait_command_gates_an_existing_job(invoke: Invoke, tmp_path: Path) -> None:
    _, document, _ = submit(invoke, job(tmp_path))
    handle = str(document["handle"])
    ok = invoke("-o", "json", "wait", handle, "--poll", "0.01", "--max-metric", "val_loss=0.5")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["passed"] is True
    missed = invoke("wait", handle, "--poll", "0.01", "--min-metric", "val_loss=0.5")
    assert missed.exit_code == 4
    assert "val_loss=0.25 is below 0.5 (--min-metric val_loss=0.5)" in missed.stderr


def test_github_step_summary_gets_one_section_per_job(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    for name, value in GITHUB_RUN.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "1")
    submit(invoke, job(tmp_path), "--max-metric", "val_loss=0.1")
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("### ✅ cloudgd: gated-")
    assert "SUCCEEDED — gate failed" in text
    assert "| provider | fake |" in text and "| val_loss | 0.25 |" in text
    assert "- ❌ val_loss=0.25 is above 0.1 (--max-metric val_loss=0.1)" in text
    assert "| CI run | [https://github.com/acme/models/actions/runs/4242/attempts/1]" in text


def in_github(monkeypatch: pytest.MonkeyPatch, attempt: int) -> None:
    for name, value in GITHUB_RUN.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", str(attempt))


def test_a_rerun_attaches_to_the_job_an_earlier_attempt_started(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = job(tmp_path)
    in_github(monkeypatch, 1)
    first = invoke("-o", "json", "submit", spec, "-p", "fake")  # the runner then timed out
    in_github(monkeypatch, 2)
    code, again, stderr = submit(invoke, spec)
    assert code == 0, stderr
    assert again["handle"] == json.loads(first.stdout)["handle"]
    assert again["attached"] is True
    assert "attempt 2 of this CI run: attaching to gated-" in stderr
    assert len(load_jobs()) == 1  # one job, paid once


def test_a_rerun_after_a_failed_job_trains_again(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = job(tmp_path, "FAILED")
    in_github(monkeypatch, 1)
    assert submit(invoke, spec)[0] == 4
    in_github(monkeypatch, 2)
    code, again, _ = submit(invoke, spec)
    assert code == 4 and again["attached"] is False
    assert len(load_jobs()) == 2  # attempt 2 has its own job


def test_an_explicit_key_never_looks_for_other_attempts(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = job(tmp_path)
    in_github(monkeypatch, 1)
    invoke("submit", spec, "-p", "fake")
    in_github(monkeypatch, 2)
    code, document, _ = submit(invoke, spec, "--idempotency-key", "release-7")
    assert code == 0 and document["attached"] is False
    assert len(load_jobs()) == 2


def test_without_wait_the_document_has_no_verdict_yet(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("-o", "json", "submit", job(tmp_path), "-p", "fake")
    document = json.loads(result.stdout)
    assert result.exit_code == 0 and document["state"] == "PENDING"
    assert document["passed"] is None and document["gates"] == []

"""init, validate, schema and plan: the commands that touch no job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudgd.loader import load_spec
from cloudgd.plan import Plan
from tests.cli.conftest import DIGITS, Invoke


def test_init_writes_a_valid_commented_job_yaml_in_the_current_directory(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("init")
    assert result.exit_code == 0, result.output
    written = tmp_path / "job.yaml"
    assert written.read_text().startswith("# A cloudgd job")
    assert load_spec(written).spec.name == "my-job"
    assert "wrote job.yaml" in result.stderr


def test_init_refuses_to_overwrite_without_force(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("keep me")
    refused = invoke("init", str(target))
    assert refused.exit_code == 2
    assert f"cloudgd: error: {target} already exists" in refused.stderr
    assert "hint: pass --force to overwrite it" in refused.stderr
    assert target.read_text() == "keep me"
    assert invoke("init", str(target), "--force").exit_code == 0
    assert target.read_text().startswith("# A cloudgd job")


def test_init_into_a_directory_and_to_stdout(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke("init", str(tmp_path)).exit_code == 0
    assert (tmp_path / "job.yaml").exists()
    printed = invoke("init", "-")
    assert printed.exit_code == 0
    assert printed.stdout == (tmp_path / "job.yaml").read_text()


def test_validate_reports_ok_for_each_example(invoke: Invoke) -> None:
    examples = sorted(str(p) for p in Path(DIGITS).parent.glob("*.yaml"))
    result = invoke("validate", *examples)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count(": ok (") == len(examples)


def test_validate_prints_one_line_per_problem_and_exits_2(
    invoke: Invoke, job_file: object, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x-job\ntrainer:\n  optimizer: {lr: -1}\n  epoch: 3\n")
    result = invoke("validate", str(bad))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("cloudgd: error:")]
    assert errors == [
        f"cloudgd: error: {bad}: trainer.optimizer.lr: must be > 0 (got -1)",
        f"cloudgd: error: {bad}: trainer.epoch: unknown field; did you mean 'epochs'?",
    ]
    assert "Traceback" not in result.output
    assert "pydantic" not in result.output.lower()


def test_validate_json_lists_every_file(invoke: Invoke, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    result = invoke("--output", "json", "validate", DIGITS, str(bad))
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert [f["valid"] for f in document["files"]] == [True, False]
    assert "expected a mapping of fields" in document["files"][1]["problems"][0]


def test_validate_applies_set_overrides(invoke: Invoke) -> None:
    result = invoke("validate", DIGITS, "--set", "trainer.optimizer.lr=-2")
    assert result.exit_code == 2
    assert "trainer.optimizer.lr: must be > 0 (got -2) (from --set)" in result.stderr


def test_validate_reads_standard_input(invoke: Invoke) -> None:
    result = invoke("validate", "-", input="name: piped-job\n")
    assert result.exit_code == 0
    assert result.stdout.startswith("<stdin>: ok (piped-job")


def test_schema_prints_json_schema(invoke: Invoke) -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "trainer" in schema["properties"]


def test_plan_prints_summary_and_exact_request(invoke: Invoke) -> None:
    result = invoke("plan", DIGITS, "--provider", "fake")
    assert result.exit_code == 0, result.stderr
    assert "fake:CreateJob" in result.stdout
    assert '"outcome": "SUCCEEDED"' in result.stdout
    assert "uploads first" in result.stdout  # fake ships a tar.gz bundle


def test_plan_json_is_one_document_with_the_request(invoke: Invoke) -> None:
    result = invoke("-o", "json", "plan", DIGITS, "-p", "fake", "--set", "trainer.epochs=7")
    assert result.exit_code == 0, result.stderr
    plan = Plan.model_validate(json.loads(result.stdout))
    assert plan.request["epochs"] == 7
    assert plan.request["bundle"].startswith("cloudgd-bundle-")


def test_plan_out_writes_byte_stable_json(invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = invoke("plan", DIGITS, "-p", "fake", "--out", str(out), "--idempotency-key", "k1")
    assert result.exit_code == 0, result.stderr
    plan = Plan.model_validate_json(out.read_text())
    assert out.read_text() == plan.to_json()
    assert plan.request["key"] == "k1"
    assert f"wrote {out}" in result.stderr


def test_plan_uses_the_github_commit_as_default_idempotency_key(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    result = invoke("-o", "json", "plan", DIGITS, "-p", "fake")
    assert json.loads(result.stdout)["request"]["key"] == "abc123-2"
    explicit_none = invoke("-o", "json", "plan", DIGITS, "-p", "fake", "--idempotency-key", "")
    assert json.loads(explicit_none.stdout)["request"]["key"] is None


def test_plan_unknown_provider_suggests_the_closest(invoke: Invoke) -> None:
    result = invoke("plan", DIGITS, "-p", "fak")
    assert result.exit_code == 2
    assert "cloudgd: error: unknown provider 'fak'" in result.stderr
    assert "did you mean 'fake'?" in result.stderr


def test_plan_unknown_set_path_suggests_the_field(invoke: Invoke) -> None:
    result = invoke("plan", DIGITS, "-p", "fake", "--set", "trainer.optimzer.lr=1")
    assert result.exit_code == 2
    assert "unknown field 'optimzer' in trainer; did you mean 'optimizer'?" in result.stderr


def test_plan_missing_file_is_a_spec_error(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("plan", str(tmp_path / "nope.yaml"), "-p", "fake")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].endswith("nope.yaml: no such file")


def test_output_json_works_after_the_command_too(invoke: Invoke) -> None:
    before = invoke("-o", "json", "plan", DIGITS, "-p", "fake")
    after = invoke("plan", DIGITS, "-p", "fake", "--output", "json")
    assert json.loads(after.stdout)["job_name"] == json.loads(before.stdout)["job_name"]
    valid = invoke("validate", DIGITS, "-o", "json")
    assert json.loads(valid.stdout)["valid"] is True

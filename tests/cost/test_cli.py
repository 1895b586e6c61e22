"""`cloudgd cost` and `cloudgd catalog` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloudgd.cli.catalog import command as catalog_command
from cloudgd.cli.cost import command as cost_command
from cloudgd.errors import BudgetError, SpecError

JOB = """\
name: cost-cli
resources: {accelerator: "A10G:1", nodes: 2}
limits: {max_runtime: 6h, expected_runtime: 1h, max_cost_usd: 10}
"""


@pytest.fixture
def job(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(JOB)
    return path


def test_cost_json_is_one_document_with_numbers(job: Path) -> None:
    result = CliRunner().invoke(
        cost_command, [str(job), "--provider", "aws", "--region", "us-east-1", "--output", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    [only] = document["estimates"]
    assert only["instance_type"] == "ml.g5.xlarge"
    assert (only["price_basis"], only["price_note"]) == (
        "training",
        "training rate (SageMaker training)",
    )
    assert only["on_demand"]["expected"] == pytest.approx(2.816)  # 2 x 1.408 x 1 h
    assert only["upper_bound_total"] == pytest.approx(16.896)  # x 6 h
    assert only["time_cap_seconds"] == 12784
    assert document["catalog_origin"] == "bundled"
    assert document["cheapest"] == 0


def test_cost_table_compares_all_clouds_and_marks_unknown(job: Path) -> None:
    result = CliRunner().invoke(cost_command, [str(job)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "ml.g5.xlarge" in result.stdout
    assert "unknown" in result.stdout  # us-west-2 has no g5.xlarge spot price
    assert "not offered: gcp" in result.stderr  # no A10G on GCP
    assert "price: aws us-east-1 ml.g5.xlarge: training rate (SageMaker training)" in (
        result.stderr
    )
    assert "price: aws us-west-2 ml.g5.xlarge: stand-in (EC2 list price; typically 29%" in (
        result.stderr
    )
    assert "stand-in" in result.stdout and "training" in result.stdout  # the rate column


def test_cost_all_clouds_json_lists_what_is_not_offered(job: Path) -> None:
    result = CliRunner().invoke(cost_command, [str(job), "--output", "json"])
    document = json.loads(result.stdout)
    assert {e["provider"] for e in document["estimates"]} == {"aws"}
    assert {s["provider"] for s in document["not_offered"]} == {"gcp", "azure"}


def test_cost_set_override_and_unknown_region(job: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cost_command,
        [str(job), "--provider", "aws", "--set", "resources.nodes=1", "--output", "json"],
    )
    estimates = json.loads(result.stdout)["estimates"]
    assert [e["region"] for e in estimates] == ["eu-west-1", "us-east-1", "us-west-2"]
    assert {e["nodes"] for e in estimates} == {1}
    result = runner.invoke(
        cost_command, [str(job), "--provider", "aws", "--region", "eu-central-1"]
    )
    assert result.exit_code == 0, result.output
    assert "eu-central-1" in result.stdout and "unknown" in result.stdout
    assert "cloudgd catalog refresh" in result.stderr


def test_cost_rejects_an_invalid_spec(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nresources: {nodes: 0}\n")
    result = CliRunner().invoke(cost_command, [str(path)])
    assert isinstance(result.exception, SpecError)


def test_cost_tpu_only_job_on_aws_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tpu.yaml"
    path.write_text("name: tpu-job\nresources: {accelerator: 'tpu-v5e:8'}\n")
    result = CliRunner().invoke(cost_command, [str(path), "--provider", "aws"])
    assert isinstance(result.exception, SpecError)
    assert "Trainium" in (result.exception.hint or "")


@pytest.mark.slow
def test_cost_calibrate_runs_real_steps(tmp_path: Path) -> None:
    path = tmp_path / "cpu.yaml"
    path.write_text("name: calib\ntrainer: {model: {kind: mlp, hidden: [16]}, batch_size: 32}\n")
    result = CliRunner().invoke(
        cost_command,
        [
            str(path),
            "--provider",
            "aws",
            "--region",
            "us-east-1",
            "--calibrate",
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    [only] = json.loads(result.stdout)["estimates"]
    assert only["calibration"]["flops_per_sample"] == 5056.0
    assert only["expected_hours_from"] == "calibration"
    assert only["expected_hours"] > 0


def test_catalog_lists_and_filters() -> None:
    result = CliRunner().invoke(
        catalog_command, ["--provider", "gcp", "--accelerator", "t4", "--output", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1 and document["as_of"] == "2026-12-07"
    assert {o["instance_type"] for o in document["offers"]} == {"n1-standard-8"}
    table = CliRunner().invoke(catalog_command, ["--region", "eastus"], env={"COLUMNS": "200"})
    assert "Standard_NC4as_T4_v3" in table.stdout


def test_budget_refusal_is_a_budget_error_with_exit_code_2() -> None:
    assert BudgetError("x").exit_code == 2


def test_table_formatting_of_durations_and_money() -> None:
    from cloudgd.cli.catalog import money
    from cloudgd.cli.cost import duration

    assert [duration(h) for h in (None, 0.0001, 0.01, 0.5, 2.5)] == [
        "unknown",
        "<1s",
        "36s",
        "30m00s",
        "2.5h",
    ]
    assert [money(v, 2) for v in (None, 0.001, 12.3456)] == ["unknown", "<$0.01", "$12.35"]


def test_the_budget_column_never_judges_by_a_stand_in(job: Path) -> None:
    args = [str(job), "--provider", "aws", "--region", "eu-west-1"]
    result = CliRunner().invoke(cost_command, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "ml.g5.xlarge" in line]
    # the rate column and the "≤ $10" column: EC2's $13.48 worst case is no answer
    assert row.count("stand-in") == 2 and "yes" not in row and "NO" not in row
    vouched = CliRunner().invoke(
        cost_command, [*args, "--set", "limits.price_per_hour_usd=0.5"], env={"COLUMNS": "250"}
    )
    [row] = [line for line in vouched.stdout.splitlines() if "ml.g5.xlarge" in line]
    assert row.rstrip(" │").endswith("yes")  # 2 nodes x $0.5 x 6 h = $6 <= $10

"""The budget gate: `submit` refuses a worst case over limits.max_cost_usd before any
upload or API call; `limits.on_budget: cap` accepts it and the cloud time cap holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudgd.cost.budget import capped_runtime, enforce_budget
from cloudgd.cost.select import choice_for_spec
from cloudgd.errors import BudgetError
from cloudgd.spec import JobSpec

from .conftest import Invoke

# 2 x ml.g5.xlarge (us-east-1, SageMaker training $1.408/h) for 6h is $16.90 worst case.
OVER_BUDGET = """\
name: budget-demo
resources: {accelerator: A10G:1, nodes: 2, region: us-east-1}
limits: {max_runtime: 6h, max_cost_usd: 10}
providers:
  aws: {role_arn: "arn:aws:iam::123456789012:role/R", output_uri: "s3://bucket-a/x"}
"""


def spec(**limits: object) -> JobSpec:
    return JobSpec.model_validate(
        {
            "name": "budget-demo",
            "resources": {"accelerator": "A10G:1", "nodes": 2, "region": "us-east-1"},
            "limits": {"max_runtime": "6h", "max_cost_usd": 10, **limits},
        }
    )


def test_submit_refuses_a_worst_case_over_budget_before_calling_aws(
    invoke: Invoke, tmp_path: Path
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(OVER_BUDGET)
    result = invoke("submit", str(job), "--provider", "aws")
    assert result.exit_code == 2, result.output
    assert "limits.max_cost_usd: worst case $16.90" in result.stderr
    assert "exceeds the $10 budget" in result.stderr
    assert "limits.max_runtime: 3h33m" in result.stderr  # the runtime that fits


def test_plan_only_warns(invoke: Invoke, tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(OVER_BUDGET)
    result = invoke("plan", str(job), "--provider", "aws")
    assert result.exit_code == 0, result.output
    assert "warning: submit would refuse this job" in result.stderr


def test_dry_run_prints_the_plan_then_exits_as_the_refused_submit_would(
    invoke: Invoke, tmp_path: Path
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(OVER_BUDGET)
    result = invoke("submit", str(job), "--provider", "aws", "--dry-run")
    assert result.exit_code == 2, result.output  # CI gates on dry runs
    assert "ml.g5.xlarge" in result.output  # the plan came first
    assert "limits.max_cost_usd: worst case $16.90" in result.stderr


def test_dry_run_json_still_prints_one_plan_document_before_refusing(
    invoke: Invoke, tmp_path: Path
) -> None:
    import json

    job = tmp_path / "job.yaml"
    job.write_text(OVER_BUDGET)
    result = invoke("-o", "json", "submit", str(job), "--provider", "aws", "--dry-run")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["dry_run"] is True


def test_tune_dry_run_exits_2_when_the_study_would_be_refused(
    invoke: Invoke, tmp_path: Path
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(
        OVER_BUDGET
        + "tuning:\n  metric: {name: val_loss, goal: minimize}\n"
        + "  parameters:\n    trainer.optimizer.lr: {type: log_uniform, min: 1e-4, max: 1e-2}\n"
        + "  max_trials: 4\n"
    )
    result = invoke("tune", str(job), "--provider", "aws", "--dry-run")
    assert result.exit_code == 2, result.output
    assert "CreateHyperParameterTuningJob" in result.output
    assert "limits.max_cost_usd" in result.stderr


def test_a_dry_run_within_budget_exits_0(invoke: Invoke, tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    within = OVER_BUDGET.replace("max_cost_usd: 10", "max_cost_usd: 100")
    assert within != OVER_BUDGET
    job.write_text(within)
    assert invoke("submit", str(job), "--provider", "aws", "--dry-run").exit_code == 0


def test_on_budget_cap_accepts_and_the_cap_keeps_spend_under_budget() -> None:
    capped = spec(on_budget="cap")
    choice = choice_for_spec(capped, "aws")
    enforce_budget(capped, choice)  # accepted
    seconds = capped_runtime(capped, choice)
    assert seconds < 6 * 3600
    assert choice.price_per_hour is not None
    assert capped.resources.nodes * choice.price_per_hour * seconds / 3600 <= 10


def test_refuse_is_the_default() -> None:
    refused = spec()
    with pytest.raises(BudgetError):
        enforce_budget(refused, choice_for_spec(refused, "aws"))

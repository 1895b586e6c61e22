"""A study's cost is trials × one trial's bound, and limits.max_cost_usd budgets the study."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tuning_helpers import ISSUE_SEARCH, make_spec

from cloudgd.cli.main import cli
from cloudgd.tuning.cost import study_cost, trial_spec


def test_each_trial_gets_an_equal_share_of_the_study_budget() -> None:
    spec = make_spec(limits={"max_cost_usd": 40})
    assert trial_spec(spec).limits.max_cost_usd == pytest.approx(2.0)  # 20 trials
    assert trial_spec(make_spec()).limits.max_cost_usd is None


def test_study_cost_multiplies_the_per_trial_figures() -> None:
    tuning = make_spec().tuning
    assert tuning is not None
    cost = study_cost(tuning, expected=0.5, worst=2.0, budget=30.0)
    assert (cost.trials, cost.expected_total, cost.upper_bound_total) == (20, 10.0, 40.0)
    assert cost.within_budget is False
    assert study_cost(tuning, None, None, None).within_budget is None


def _job(tmp_path: Path, **fields: Any) -> Path:
    doc = {"name": "digits", "trainer": {"epochs": 1}, "tuning": ISSUE_SEARCH, **fields}
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_tune_refuses_a_study_whose_worst_case_exceeds_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 20 trials share $100 ($5 each); one ml.g5.xlarge trial at the $1.408/h training rate
    # for 6h may cost $8.45.
    job = _job(
        tmp_path,
        resources={"accelerator": "A10G:1"},
        limits={"max_runtime": "6h", "max_cost_usd": 100},
    )
    code = cli.main(
        ["tune", str(job), "-p", "aws", "--backend", "moto", "--endpoint", "http://127.0.0.1:9"],
        standalone_mode=False,
    )
    assert code == 2
    assert "limits.max_cost_usd: worst case" in capsys.readouterr().err


def test_cost_reports_the_study_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = _job(tmp_path, limits={"max_runtime": "1h", "max_cost_usd": 5})
    code = cli.main(
        ["cost", str(job), "--provider", "aws", "--region", "us-east-1", "--output", "json"],
        standalone_mode=False,
    )
    assert code == 0
    [row] = json.loads(capsys.readouterr().out)["tuning"]
    assert row["trials"] == 20
    assert row["upper_bound_total"] == pytest.approx(20 * row["per_trial_worst_case"])
    assert row["upper_bound_total"] <= 5 + 1e-9  # each trial is capped at its $0.25 share

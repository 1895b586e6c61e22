"""No catalog wall: `cloudgd plan` works for any region and any instance type the cloud
itself accepts, on every cloud; what the catalog cannot price is "price unknown" with the
command that would find it. A budget is never capped from a stand-in price."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cloudgd.cli.main import cli
from cloudgd.errors import BudgetError

DIGITS = str(Path(__file__).resolve().parents[2] / "examples" / "digits.yaml")
BACKEND = {"aws": "moto", "gcp": "fake", "azure": "fake"}
PRICE_FIELDS = {"aws": "price_note", "gcp": "price_source", "azure": "price_note"}


def plan(provider: str, *sets: str) -> Result:
    args = ["plan", DIGITS, "--provider", provider, "--backend", BACKEND[provider]]
    for item in sets:
        args += ["--set", item]
    return CliRunner().invoke(cli, [*args, "--output", "json"])


@pytest.mark.parametrize(
    ("provider", "region", "machine"),
    [
        ("aws", "eu-central-1", "ml.m5.xlarge"),
        ("gcp", "asia-south1", "n1-standard-8"),
        ("azure", "westus2", "Standard_D4s_v3"),
    ],
)
def test_an_uncatalogued_region_plans_with_price_unknown(
    provider: str, region: str, machine: str
) -> None:
    result = plan(provider, f"resources.region={region}")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert region in json.dumps(summary) and machine in json.dumps(summary)
    assert summary["price_basis"] == "unknown"
    assert "cloudgd catalog refresh" in summary[PRICE_FIELDS[provider]]


@pytest.mark.parametrize(
    ("provider", "accelerator", "machine"),
    [
        ("aws", "L4:1", "ml.g6.2xlarge"),
        ("gcp", "none", "c3-standard-8"),
        ("azure", "L4:1", "Standard_NC8ads_L4_v1"),
    ],
)
def test_an_uncatalogued_instance_type_passes_through(
    provider: str, accelerator: str, machine: str
) -> None:
    result = plan(
        provider, f"resources.accelerator={accelerator}", f"resources.instance_type={machine}"
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # Sent to the cloud as written (Azure: in the compute cluster request it creates).
    sent = [document["request"], *document["extra_requests"]]
    assert machine in json.dumps(sent)
    assert document["summary"]["price_basis"] == "unknown"


def test_a_misspelt_instance_type_is_still_refused_by_its_syntax() -> None:
    result = plan("azure", "resources.instance_type=NC6s_v3")
    assert result.exit_code == 2
    assert "resources.instance_type" in result.stderr


def test_budget_cap_with_a_stand_in_price_is_refused_naming_the_way_out() -> None:
    # ml.p4d.24xlarge in us-east-1: only the EC2 list price is in the catalog.
    result = plan(
        "aws",
        "resources.accelerator=A100:8",
        "resources.region=us-east-1",
        "limits.max_cost_usd=100",
        "limits.on_budget=cap",
    )
    assert result.exit_code == 2
    assert "only a stand-in price for ml.p4d.24xlarge" in result.stderr
    assert "limits.price_per_hour_usd" in result.stderr


def test_budget_cap_with_a_vouched_price_caps_at_that_price() -> None:
    # $100 at the user's $40/h: 9000 s, not the 16395 s the EC2 stand-in would give
    result = plan(
        "aws",
        "resources.accelerator=A100:8",
        "resources.region=us-east-1",
        "limits.max_runtime=6h",
        "limits.max_cost_usd=100",
        "limits.on_budget=cap",
        "limits.price_per_hour_usd=40",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["request"]["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 9000
    }


def test_submit_refuses_a_budget_it_could_only_check_against_a_stand_in() -> None:
    from cloudgd.cost.budget import enforce_budget
    from cloudgd.cost.select import choice_for_spec
    from cloudgd.spec import JobSpec

    spec = JobSpec.model_validate(
        {"name": "budget-job", "resources": {"accelerator": "T4:1"}, "limits": {"max_cost_usd": 50}}
    )
    with pytest.raises(BudgetError, match="only a stand-in price for n1-standard-8"):
        enforce_budget(spec, choice_for_spec(spec, "gcp"))

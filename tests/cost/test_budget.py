"""capped_runtime: the cloud-side time cap that keeps spend under limits.max_cost_usd.

A budget is checked and capped against the service's own training rate, or a
limits.price_per_hour_usd the user vouches for; never against a stand-in (EC2,
Compute Engine) price.
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudgd.accelerators import parse_accelerator
from cloudgd.cost.budget import capped_runtime, check_budget, enforce_budget, time_limit
from cloudgd.cost.select import choose_instance
from cloudgd.errors import BudgetError
from cloudgd.spec import JobSpec


def spec(**parts: Any) -> JobSpec:
    return JobSpec.model_validate({"name": "budget-test", **parts})


def test_no_budget_keeps_max_runtime() -> None:
    job = spec(limits={"max_runtime": "6h"})
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    assert capped_runtime(job, choice) == 21600


def test_budget_lowers_cap_hand_computed() -> None:
    # 2 nodes x 1.408 $/h (SageMaker training) = 2.816 $/h; $10 lasts 12784.09 s -> 12784
    job = spec(
        resources={"accelerator": "A10G:1", "nodes": 2},
        limits={"max_runtime": "6h", "max_cost_usd": 10},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    assert choice.price_basis == "training"
    assert capped_runtime(job, choice) == 12784


def test_budget_above_worst_case_keeps_max_runtime() -> None:
    job = spec(limits={"max_runtime": "1h", "max_cost_usd": 100})
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    assert capped_runtime(job, choice) == 3600


def test_spot_uses_spot_price() -> None:
    # Azure ML bills at the VM rate: NC4as_T4_v3 spot 0.068959 $/h; $1 lasts 52204.93 s
    job = spec(
        resources={"accelerator": "T4:1"},
        scaling={"spot": True},
        limits={"max_runtime": "24h", "max_cost_usd": 1},
    )
    choice = choose_instance("azure", parse_accelerator("T4:1"), "eastus")
    assert capped_runtime(job, choice) == 52204


def test_spot_without_spot_price_uses_on_demand() -> None:
    # ml.g5.xlarge has no managed-spot rate in the catalog: 3600 / 1.408 = 2556.8 -> 2556
    job = spec(
        resources={"accelerator": "A10G:1"},
        scaling={"spot": True},
        limits={"max_runtime": "6h", "max_cost_usd": 1},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    assert capped_runtime(job, choice) == 2556


def test_unknown_price_with_budget_is_refused() -> None:
    job = spec(resources={"accelerator": "H100:8"}, limits={"max_cost_usd": 500})
    choice = choose_instance("gcp", parse_accelerator("H100:8"), "us-central1")
    with pytest.raises(BudgetError, match="no price for a3-highgpu-8g") as info:
        capped_runtime(job, choice)
    assert info.value.exit_code == 2


def test_unknown_price_without_budget_is_fine() -> None:
    job = spec(resources={"accelerator": "H100:8"}, limits={"max_runtime": "2h"})
    choice = choose_instance("gcp", parse_accelerator("H100:8"), "us-central1")
    assert capped_runtime(job, choice) == 7200


def test_budget_too_small_for_a_second() -> None:
    job = spec(resources={"accelerator": "A10G:1", "nodes": 512}, limits={"max_cost_usd": 0.001})
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    with pytest.raises(BudgetError, match="less than one second"):
        capped_runtime(job, choice)


def test_submit_refusal_names_the_numbers_and_ways_to_fit() -> None:
    # worst case 2 x 1.408 x 6 h = $16.896 > $10
    job = spec(
        resources={"accelerator": "A10G:1", "nodes": 2},
        limits={"max_runtime": "6h", "max_cost_usd": 10},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    with pytest.raises(
        BudgetError, match=r"worst case \$16\.90 .* exceeds the \$10 budget"
    ) as info:
        check_budget(job, choice)
    hint = info.value.hint or ""
    assert "resources.nodes: 1" in hint
    assert "scaling.spot" not in hint  # no managed-spot rate: spot cannot be promised
    assert "limits.max_runtime: 3h33m" in hint  # 12784 s
    assert info.value.exit_code == 2


def test_within_budget_passes() -> None:
    job = spec(
        resources={"accelerator": "A10G:1", "nodes": 2},
        limits={"max_runtime": "3h", "max_cost_usd": 10},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    check_budget(job, choice)  # 2 x 1.408 x 3 = 8.448 <= 10: no error
    assert capped_runtime(job, choice) == 10800


def test_no_budget_never_refuses() -> None:
    job = spec(resources={"accelerator": "H100:8"})
    check_budget(job, choose_instance("gcp", parse_accelerator("H100:8"), "us-central1"))


def test_refusal_with_unknown_price() -> None:
    job = spec(resources={"accelerator": "H100:8"}, limits={"max_cost_usd": 100})
    with pytest.raises(BudgetError, match="no price"):
        check_budget(job, choose_instance("gcp", parse_accelerator("H100:8"), "us-central1"))


def test_spot_and_restarts_without_checkpoints_are_refused_by_the_spec() -> None:
    with pytest.raises(ValueError, match=r"checkpoints\.enabled"):
        spec(scaling={"spot": True}, checkpoints={"enabled": False})
    with pytest.raises(ValueError, match=r"checkpoints\.enabled"):
        spec(scaling={"restarts": 2}, checkpoints={"enabled": False})


# ml.p4d.24xlarge has only an EC2 row (a stand-in) in the bundled catalog.
P4D = {"accelerator": "A100:8"}


def test_a_stand_in_price_never_caps_a_budget() -> None:
    job = spec(resources=P4D, limits={"max_cost_usd": 100, "on_budget": "cap"})
    choice = choose_instance("aws", parse_accelerator("A100:8"), "us-east-1")
    assert choice.price_basis == "stand_in" and choice.price_per_hour == 21.957642
    with pytest.raises(BudgetError, match=r"only a stand-in price for ml\.p4d\.24xlarge") as info:
        capped_runtime(job, choice)
    assert "limits.price_per_hour_usd" in (info.value.hint or "")
    assert "cloudgd catalog refresh" in (info.value.hint or "")
    with pytest.raises(BudgetError, match="stand-in"):
        time_limit(job, choice)  # cap: the plan itself is refused
    with pytest.raises(BudgetError, match="stand-in"):
        enforce_budget(job, choice)


def test_on_budget_refuse_with_a_stand_in_refuses_submit_but_plans_uncapped() -> None:
    job = spec(resources=P4D, limits={"max_runtime": "2h", "max_cost_usd": 1000})
    choice = choose_instance("aws", parse_accelerator("A100:8"), "us-east-1")
    # The EC2 worst case (2 h x $21.96 = $43.92) is far under $1000, and still refused.
    with pytest.raises(BudgetError, match="only a stand-in price") as info:
        enforce_budget(job, choice)
    assert info.value.exit_code == 2
    assert time_limit(job, choice) == 7200


def test_a_vouched_price_caps_instead_of_the_catalog() -> None:
    # $100 at 1 node x $30/h (the user's figure) = 12000 s
    job = spec(
        resources=P4D,
        limits={
            "max_runtime": "6h",
            "max_cost_usd": 100,
            "price_per_hour_usd": 30,
            "on_budget": "cap",
        },
    )
    choice = choose_instance("aws", parse_accelerator("A100:8"), "us-east-1")
    assert capped_runtime(job, choice) == 12000
    assert time_limit(job, choice) == 12000
    enforce_budget(job, choice)


def test_a_vouched_price_also_replaces_a_training_rate() -> None:
    # 3600 x 2 / 2.0 = 3600 s, where the catalog's 1.408 would give 5113
    job = spec(
        resources={"accelerator": "A10G:1"},
        limits={"max_runtime": "6h", "max_cost_usd": 2, "price_per_hour_usd": 2.0},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    assert capped_runtime(job, choice) == 3600


def test_uncatalogued_region_with_a_budget_is_refused_with_the_reason() -> None:
    job = spec(resources={"accelerator": "A10G:1"}, limits={"max_cost_usd": 10})
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "eu-central-1")
    assert choice.price_basis == "unknown"
    with pytest.raises(BudgetError, match=r"no price for ml\.g5\.xlarge in aws eu-central-1"):
        enforce_budget(job, choice)

"""capped_runtime: the cloud-side time cap that keeps spend under limits.max_cost_usd."""

from __future__ import annotations

from typing import Any

import pytest

from cloudgd.accelerators import parse_accelerator
from cloudgd.cost.budget import capped_runtime, check_budget
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
    # 2 nodes x 1.006 $/h = 2.012 $/h; $10 lasts 10 / 2.012 h = 17892.64 s -> 17892
    job = spec(
        resources={"accelerator": "A10G:1", "nodes": 2},
        limits={"max_runtime": "6h", "max_cost_usd": 10},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    assert capped_runtime(job, choice) == 17892


def test_budget_above_worst_case_keeps_max_runtime() -> None:
    job = spec(limits={"max_runtime": "1h", "max_cost_usd": 100})
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    assert capped_runtime(job, choice) == 3600


def test_spot_uses_spot_price() -> None:
    # 0.4246 $/h spot; $1 lasts 3600 / 0.4246 s = 8478.57 -> 8478
    job = spec(
        resources={"accelerator": "A10G:1"},
        scaling={"spot": True},
        limits={"max_runtime": "6h", "max_cost_usd": 1},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    assert capped_runtime(job, choice) == 8478


def test_spot_without_spot_price_uses_on_demand() -> None:
    # us-west-2 g5.xlarge has no spot price: 3600 / 1.006 = 3578.53 -> 3578
    job = spec(
        resources={"accelerator": "A10G:1"},
        scaling={"spot": True},
        limits={"max_runtime": "6h", "max_cost_usd": 1},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-west-2")
    assert capped_runtime(job, choice) == 3578


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
    job = spec(resources={"accelerator": "A100:8", "nodes": 512}, limits={"max_cost_usd": 0.001})
    choice = choose_instance("aws", parse_accelerator("A100:8"), "us-east-1")
    with pytest.raises(BudgetError, match="less than one second"):
        capped_runtime(job, choice)


def test_submit_refusal_names_the_numbers_and_ways_to_fit() -> None:
    # worst case 2 x 1.006 x 6 h = $12.072 > $10
    job = spec(
        resources={"accelerator": "A10G:1", "nodes": 2},
        limits={"max_runtime": "6h", "max_cost_usd": 10},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    with pytest.raises(
        BudgetError, match=r"worst case \$12\.07 .* exceeds the \$10 budget"
    ) as info:
        check_budget(job, choice)
    hint = info.value.hint or ""
    assert "resources.nodes: 1" in hint
    assert "scaling.spot: true (worst case $5.10, fits)" in hint
    assert "limits.max_runtime: 4h58m" in hint  # 17892 s
    assert info.value.exit_code == 2


def test_within_budget_passes() -> None:
    job = spec(
        resources={"accelerator": "A10G:1", "nodes": 2},
        limits={"max_runtime": "4h", "max_cost_usd": 10},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    check_budget(job, choice)  # 8.048 <= 10: no error
    assert capped_runtime(job, choice) == 14400


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

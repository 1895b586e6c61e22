"""Whole-job estimates: hand-computed arithmetic on catalog rows."""

from __future__ import annotations

from typing import Any

import pytest

from cloudgd.accelerators import parse_accelerator
from cloudgd.cost.catalog import load_catalog
from cloudgd.cost.estimate import estimate
from cloudgd.cost.select import choose_instance
from cloudgd.cost.throughput import Calibration
from cloudgd.spec import JobSpec


def spec(**parts: Any) -> JobSpec:
    return JobSpec.model_validate({"name": "estimate-test", **parts})


def test_on_demand_and_spot_totals_hand_computed() -> None:
    job = spec(
        resources={"accelerator": "A10G:1", "nodes": 3},
        limits={"max_runtime": "4h", "expected_runtime": "90m"},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-west-2")
    est = estimate(job, choice, load_catalog())
    # us-west-2 has no SageMaker row: g5.xlarge EC2 1.006 on-demand stands in, no spot
    assert est.price_basis == "stand_in"
    assert est.on_demand.per_node_hour == 1.006
    assert est.on_demand.per_hour == pytest.approx(3.018)  # 3 nodes
    assert est.on_demand.expected == pytest.approx(4.527)  # 3.018 x 1.5 h
    assert est.on_demand.worst_case == pytest.approx(12.072)  # 3.018 x 4 h
    assert est.spot.expected is None and est.spot.worst_case is None
    assert est.capacity == "on_demand"
    assert est.expected_total == est.on_demand.expected
    assert est.upper_bound_total == est.on_demand.worst_case
    assert (est.expected_hours, est.expected_hours_from) == (1.5, "spec")
    assert est.upper_bound_hours == 4.0
    assert est.currency == "USD"
    # median of 1 - EC2/SageMaker over us-east-1 m5.xlarge (1 - 0.192/0.23 = 16.5 %),
    # g4dn.xlarge (1 - 0.526/0.736 = 28.53 %), g5.xlarge (1 - 1.006/1.408 = 28.55 %): 29 %
    note = "stand-in (EC2 list price; typically 29% below the training rate)"
    assert est.price_note == note
    assert est.assumptions[0] == f"aws ml.g5.xlarge: {note}"
    assert est.rows_used == choice.sources


def test_spot_job_totals_use_spot_and_wall_clock_uses_max_wait() -> None:
    job = spec(
        resources={"accelerator": "T4:1"},
        scaling={"spot": True, "max_wait": "3h"},
        limits={"max_runtime": "2h", "expected_runtime": "1h"},
    )
    choice = choose_instance("gcp", parse_accelerator("T4:1"), "us-central1")
    est = estimate(job, choice, load_catalog())
    # n1-standard-8 spot 0.10446 + T4 spot 0.175
    assert est.expected_total == pytest.approx(0.27946)
    assert est.upper_bound_total == pytest.approx(0.55892)
    assert est.upper_bound_hours == 2.0
    assert est.wall_clock_bound_hours == 3.0
    assert any("not billed" in a for a in est.assumptions)


def test_unknown_price_gives_unknown_totals_not_zero() -> None:
    job = spec(resources={"accelerator": "H100:8"}, limits={"expected_runtime": "1h"})
    choice = choose_instance("gcp", parse_accelerator("H100:8"), "us-central1")
    est = estimate(job, choice, load_catalog())
    assert est.on_demand.per_hour is None
    assert est.expected_total is None and est.upper_bound_total is None
    assert est.time_cap_seconds == 86400  # no budget: the cap is max_runtime


def test_time_cap_reflects_budget() -> None:
    job = spec(
        resources={"accelerator": "A10G:1", "nodes": 2},
        limits={"max_runtime": "6h", "max_cost_usd": 10},
    )
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "us-east-1")
    # 2 x 1.408 $/h SageMaker training: $10 lasts 12784.09 s
    assert estimate(job, choice, load_catalog()).time_cap_seconds == 12784
    elsewhere = choose_instance("aws", parse_accelerator("A10G:1"), "us-west-2")
    assert estimate(job, elsewhere, load_catalog()).time_cap_seconds is None  # stand-in only


def test_carbon_hand_computed_with_one_source() -> None:
    # 16 x A100 (250 W, accelerators.csv A100-40GB row) x 2 h = 8 kWh IT
    # x PUE 1.135 = 9.08 kWh x 379.069 g/kWh (CCF us-east-1) = 3.44195 kg
    job = spec(resources={"accelerator": "A100:8", "nodes": 2}, limits={"expected_runtime": "2h"})
    choice = choose_instance("aws", parse_accelerator("A100:8"), "us-east-1")
    carbon = estimate(job, choice, load_catalog()).carbon
    assert carbon.energy_kwh == pytest.approx(9.08)
    assert carbon.kg_co2e == pytest.approx(3.44194652)
    assert carbon.carbon_source == "ccf"
    assert len(carbon.sources) == 2
    assert all("cloud-carbon-footprint" in s or "mlco2" in s for s in carbon.sources)


def test_expected_hours_from_calibration_scaled_to_peak() -> None:
    # 1000 rows x 0.8 train x 10 epochs = 8000 samples x 1e12 FLOPs
    # / (312 TFLOPS x 8 chips x 0.5) = 6410.26 s
    job = spec(
        resources={"accelerator": "A100:8"},
        trainer={"data": {"source": "synthetic_classification", "n_samples": 1000}},
    )
    calibration = Calibration(
        flops_per_sample=1e12,
        samples_per_second=100.0,
        steps_measured=5,
        batch_size=64,
        device="cpu",
        threads=1,
        model_path="test",
    )
    choice = choose_instance("aws", parse_accelerator("A100:8"), "us-east-1")
    est = estimate(job, choice, load_catalog(), calibration=calibration, utilisation=0.5)
    assert est.expected_hours_from == "calibration"
    assert est.expected_hours == pytest.approx(8000 * 1e12 / (312e12 * 8 * 0.5) / 3600)
    assert est.projection is not None and est.projection.peak_tflops_per_chip == 312


def test_calibration_on_accelerator_without_peak_is_unknown() -> None:
    job = spec(resources={"accelerator": "T4:1"})
    calibration = Calibration(
        flops_per_sample=1e6,
        samples_per_second=100.0,
        steps_measured=5,
        batch_size=64,
        device="cpu",
        threads=1,
        model_path="test",
    )
    choice = choose_instance("aws", parse_accelerator("T4:1"), "us-east-1")
    est = estimate(job, choice, load_catalog(), calibration=calibration)
    assert est.expected_hours is None and est.expected_hours_from == "unknown"
    assert est.projection is not None
    assert "no dense BF16 peak for T4" in (est.projection.unknown_reason or "")
    assert est.carbon.kg_co2e is None


def test_cpu_calibration_uses_measured_rate() -> None:
    # digits: 1797 rows x 0.8 = 1438 train rows x 10 epochs = 14380 samples / (719 x 2 nodes)
    job = spec(resources={"nodes": 2})
    calibration = Calibration(
        flops_per_sample=1e3,
        samples_per_second=719.0,
        steps_measured=5,
        batch_size=64,
        device="cpu",
        threads=1,
        model_path="test",
    )
    choice = choose_instance("aws", parse_accelerator("none"), "us-east-1")
    est = estimate(job, choice, load_catalog(), calibration=calibration)
    assert est.expected_hours == pytest.approx(10.0 / 3600)
    assert est.carbon.kg_co2e is None
    assert "CPU-only" in (est.carbon.unknown_reason or "")


def test_estimate_for_spec_prices_the_adapters_choice() -> None:
    from cloudgd.cost.estimate import estimate_for_spec
    from cloudgd.cost.select import choice_for_spec

    job = spec(
        resources={"accelerator": "T4:1", "region": "europe-west4"},
        limits={"expected_runtime": "2h"},
    )
    choice = choice_for_spec(job, "gcp")
    assert (choice.instance_type, choice.region) == ("n1-standard-8", "europe-west4")
    est = estimate_for_spec(job, "gcp")
    assert est.instance_type == choice.instance_type
    assert est.expected_total == pytest.approx((0.41834 + 0.3675) * 2)
    assert choice_for_spec(spec(), "azure").region == "eastus"

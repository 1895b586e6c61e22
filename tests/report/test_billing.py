"""A run's cost: estimated before, billed after (where the provider says), carbon."""

from __future__ import annotations

import pytest

from cloudgd.cost.catalog import load_catalog
from cloudgd.cost.select import choice_for_spec
from cloudgd.report.billing import price_on_clouds, price_run
from cloudgd.spec import JobSpec


def _spec(**resources: object) -> JobSpec:
    return JobSpec.model_validate(
        {
            "name": "digits",
            "trainer": {"epochs": 2},
            "resources": {"accelerator": "T4:1", **resources},
            "limits": {"max_runtime": "1h", "expected_runtime": "10m"},
        }
    )


def test_billable_time_prices_the_actual_run_next_to_the_estimate() -> None:
    spec = _spec()
    price = choice_for_spec(spec, "aws").price_per_hour
    assert price is not None
    bill = price_run(spec, "aws", load_catalog(), billable_seconds=360, run_seconds=400.0)
    assert bill.actual_usd == pytest.approx(price * 360 / 3600)
    assert bill.estimated_usd == pytest.approx(price * 10 / 60)
    assert bill.worst_case_usd == pytest.approx(price)
    assert bill.carbon_kg is not None and bill.carbon_kg > 0
    assert bill.instance_type == choice_for_spec(spec, "aws").instance_type


def test_without_billable_time_the_run_time_is_priced_and_labelled_as_such() -> None:
    bill = price_run(_spec(), "gcp", load_catalog(), billable_seconds=None, run_seconds=1800.0)
    assert bill.actual_usd is None
    assert bill.run_time_usd == pytest.approx(bill.price_per_hour * 0.5)  # type: ignore[operator]
    assert any("reports no billable time" in note for note in bill.notes)


def test_a_cloud_run_without_its_spec_asks_for_it() -> None:
    bill = price_run(None, "azure", load_catalog(), billable_seconds=None, run_seconds=10.0)
    assert bill.price_per_hour is None
    assert bill.notes == ("pass --spec JOB.yaml to price this run from the catalog",)


def test_a_local_run_is_not_billed_but_priced_on_each_cloud() -> None:
    catalog = load_catalog()
    assert (
        price_run(_spec(), "local", catalog, billable_seconds=None, run_seconds=5)
        .notes[0]
        .startswith("local run: no cloud bill")
    )
    clouds = price_on_clouds(_spec(), catalog, run_seconds=3600.0)
    assert [b.provider for b in clouds] == ["aws", "gcp", "azure"]
    assert all(b.run_time_usd == b.price_per_hour for b in clouds)

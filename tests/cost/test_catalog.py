"""The bundled catalog: schema version, dates, sourced rows, age warning."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from cloudgd.cost.catalog import SCHEMA_VERSION, age_warning, load_catalog
from cloudgd.cost.select import list_offers

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "cloudgd" / "data"
# ../shared sits beside the repository root (the checkout and CI's clean clone alike).
SHARED_DATA = REPO.parent / "shared" / "data"


def test_schema_version_and_as_of() -> None:
    catalog = load_catalog()
    assert catalog.schema_version == SCHEMA_VERSION
    assert catalog.as_of == date(2026, 12, 7)
    # The catalog's date is its newest row's: no row may claim a later one.
    assert max(row.as_of for row in catalog.prices) == catalog.as_of


def test_every_row_names_its_source() -> None:
    catalog = load_catalog()
    for table in (catalog.prices, catalog.shapes, catalog.accelerators, catalog.carbon):
        assert table
        assert all(row.source.strip() for row in table)


def test_shapes_table_holds_no_prices() -> None:
    with (DATA / "shapes.csv").open() as handle:
        header = next(csv.reader(handle))
    assert not [column for column in header if "price" in column and column != "price_key"]


def test_bundled_copies_match_the_shared_tables_when_present() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared source tables are not at {SHARED_DATA}")
    for name in ("prices.csv", "accelerators.csv", "carbon.csv", "PROVENANCE.md"):
        assert (DATA / name).read_bytes() == (SHARED_DATA / name).read_bytes(), name


def test_age_warning_is_a_pure_function_of_the_date() -> None:
    as_of = date(2026, 11, 24)
    assert age_warning(as_of, date(2027, 5, 23)) is None  # 180 days
    warning = age_warning(as_of, date(2027, 5, 24))
    assert warning is not None and "181 days old" in warning
    assert "cloudgd catalog refresh" in warning


def test_list_offers_filters_and_keeps_unknown_prices() -> None:
    offers = list_offers(provider="gcp", accelerator="tpu-v5e")
    assert {o.instance_type for o in offers} == {
        "ct5lp-hightpu-1t",
        "ct5lp-hightpu-4t",
        "ct5lp-hightpu-8t",
    }
    four = {o.region: o.price_per_hour for o in offers if o.instance_type == "ct5lp-hightpu-4t"}
    assert four["us-central1"] == 4.8  # the v5litepod-4 slice row added 2026-12-07
    assert four["us-central2"] is None  # a region with carbon data and no price row
    assert {o.region for o in list_offers(region="eastus")} == {"eastus"}
    assert {o.accelerator for o in list_offers(provider="aws", accelerator="none")} == {None}

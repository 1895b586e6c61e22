"""Carbon: one source per estimate, unknown when that source lacks a factor."""

from __future__ import annotations

import pytest

from cloudgd.cost.carbon import estimate_carbon
from cloudgd.cost.catalog import load_catalog


def test_google_source_has_no_pue_so_result_is_unknown_not_mixed() -> None:
    result = estimate_carbon(
        load_catalog(),
        provider="gcp",
        region="us-central1",
        accelerator="A100",
        accelerators=1,
        hours=1.0,
        source="google",
    )
    assert result.kg_co2e is None
    assert result.grid_gco2e_per_kwh == 412.72
    assert "no PUE" in (result.unknown_reason or "")


def test_mlco2_gcp_row_hand_computed() -> None:
    # L4 72 W x 4 chips x 0.5 utilisation x 10 h = 1.44 kWh x PUE 1.11 x 566.3 g = 0.90515 kg
    result = estimate_carbon(
        load_catalog(),
        provider="gcp",
        region="us-central1",
        accelerator="L4",
        accelerators=4,
        hours=10.0,
        utilisation=0.5,
        source="mlco2",
    )
    assert result.kg_co2e == pytest.approx(1.44 * 1.11 * 566.3 / 1000)
    assert all("mlco2" in s for s in result.sources)


def test_unknown_tdp_is_unknown() -> None:
    result = estimate_carbon(
        load_catalog(),
        provider="gcp",
        region="us-central1",
        accelerator="TPU-v5e",
        accelerators=8,
        hours=1.0,
    )
    assert result.kg_co2e is None
    assert "no TDP for TPU-v5e" in (result.unknown_reason or "")


def test_region_missing_from_source_is_unknown() -> None:
    result = estimate_carbon(
        load_catalog(),
        provider="gcp",
        region="us-central2",
        accelerator="A100",
        accelerators=1,
        hours=1.0,
    )
    assert result.kg_co2e is None
    assert "no factor for gcp us-central2" in (result.unknown_reason or "")


def test_unknown_source_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="carbon source"):
        estimate_carbon(
            load_catalog(),
            provider="aws",
            region="us-east-1",
            accelerator="A100",
            accelerators=1,
            hours=1.0,
            source="made-up",
        )

"""scripts/refresh_catalog.py on a small recorded fixture."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "refresh"


@pytest.fixture(scope="module")
def refresh_catalog() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "refresh_catalog", ROOT / "scripts" / "refresh_catalog.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["refresh_catalog"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run(refresh_catalog: ModuleType, tmp_path: Path) -> tuple[int, Path]:
    out = tmp_path / "prices.csv"
    meta = tmp_path / "catalog.json"
    shutil.copy(ROOT / "cloudgd" / "data" / "catalog.json", meta)
    code = refresh_catalog.main(
        [
            "--selection", str(FIXTURE / "selection.csv"),
            "--out", str(out),
            "--catalog-json", str(meta),
            "--as-of", "2027-01-15",
            "--aws", str(FIXTURE / "aws-vms.csv"), "--aws-ref", "sky aws/vms.csv@new1",
            "--gcp", str(FIXTURE / "gcp-vms.csv"), "--gcp-ref", "sky gcp/vms.csv@new2",
            "--azure", str(FIXTURE / "az_ml_vms.csv"), "--azure-ref", "sky az_ml_vms.csv@new3",
        ]
    )  # fmt: skip
    return code, out


def test_rebuild_matches_golden(
    refresh_catalog: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(refresh_catalog, tmp_path)
    assert code == 0
    golden = FIXTURE / "expected-prices.csv"
    if os.environ.get("CLOUDGD_UPDATE_GOLDEN"):
        golden.write_bytes(out.read_bytes())
    assert out.read_bytes() == golden.read_bytes()
    stderr = capsys.readouterr().err
    assert "missing (dropped, now unknown): aws us-east-1 m5.xlarge" in stderr
    assert "missing (dropped, now unknown): gcp us-central1 A100x1" in stderr
    assert json.loads((tmp_path / "catalog.json").read_text())["as_of"] == "2027-01-15"


def test_derivation_rules(refresh_catalog: ModuleType, tmp_path: Path) -> None:
    _, out = run(refresh_catalog, tmp_path)
    rows = {(r["provider"], r["region"], r["instance_type"]): r for r in csv.DictReader(out.open())}
    c3 = rows[("aws", "us-east-1", "c3.large")]
    assert (c3["price_per_hour_usd"], c3["spot_price_per_hour_usd"]) == ("0.105", "0.0299")
    assert c3["source"].startswith("sky aws/vms.csv@new1 (EC2 list price")
    assert (c3["vcpus"], c3["memory_gib"]) == ("2", "3.75")
    tpu = rows[("gcp", "us-central1", "tpu-v5litepod-8")]
    assert (tpu["price_per_hour_usd"], tpu["spot_price_per_hour_usd"]) == ("9.6", "1.95941")
    host = rows[("gcp", "europe-west4", "a2-highgpu-1g")]
    assert host["price_per_hour_usd"] == "0.81406"
    assert host["source"].endswith("HOST ONLY - GPUs billed separately")
    assert rows[("azure", "eastus", "Standard_D2_v3")]["price_per_hour_usd"] == "0.096"
    assert ("aws", "us-east-1", "m5.xlarge") not in rows


def test_local_zones_do_not_set_the_aws_spot_price(refresh_catalog: ModuleType) -> None:
    # Synthetic rows: a cheaper spot price in a local zone must be ignored.
    selected = {
        "provider": "aws", "service": "ec2", "region": "us-west-2", "instance_type": "x.large",
        "accelerator": "", "accelerator_count": "0", "vcpus": "2", "memory_gib": "4",
        "price_per_hour_usd": "", "spot_price_per_hour_usd": "", "source": "s", "as_of": "",
    }  # fmt: skip
    base = {"InstanceType": "x.large", "vCPUs": "2.0", "MemoryGiB": "4.0", "Price": "0.1"}
    source = [
        {**base, "Region": "us-west-2", "AvailabilityZone": "usw2-az1", "SpotPrice": "0.05"},
        {**base, "Region": "us-west-2", "AvailabilityZone": "usw2-lax1-az1", "SpotPrice": "0.01"},
    ]
    report = refresh_catalog.Report()
    row = refresh_catalog.rebuild_row(selected, source, "ref", "2027-01-15", report)
    assert row["spot_price_per_hour_usd"] == "0.05"


def test_zones_that_disagree_are_reported(refresh_catalog: ModuleType) -> None:
    selected = {
        "provider": "azure", "service": "azure_ml", "region": "eastus", "instance_type": "S",
        "accelerator": "", "accelerator_count": "0", "vcpus": "", "memory_gib": "",
        "price_per_hour_usd": "", "spot_price_per_hour_usd": "", "source": "s", "as_of": "",
    }  # fmt: skip
    base = {"InstanceType": "S", "vCPUs": "2.0", "MemoryGiB": "4.0", "Region": "eastus"}
    source = [{**base, "Price": "0.1", "SpotPrice": ""}, {**base, "Price": "0.2", "SpotPrice": ""}]
    report = refresh_catalog.Report()
    row = refresh_catalog.rebuild_row(selected, source, "ref", "2027-01-15", report)
    assert row["price_per_hour_usd"] == "0.2"
    assert row["spot_price_per_hour_usd"] == ""  # unknown stays unknown
    assert report.conflicts and "kept highest" in report.conflicts[0]


def test_provider_without_input_keeps_its_rows(refresh_catalog: ModuleType) -> None:
    selection = list(csv.DictReader((FIXTURE / "selection.csv").open()))
    aws_rows = list(csv.DictReader((FIXTURE / "aws-vms.csv").open()))
    rows, _ = refresh_catalog.refresh(selection, {"aws": (aws_rows, "r")}, "2027-01-15")
    assert [r for r in rows if r["provider"] != "aws"] == [
        r for r in selection if r["provider"] != "aws"
    ]

"""The core learns what a provider is from its class, never from its name: a plug-in cloud
("acme", registered through the ``cloudgd.providers`` entry point) is priced, listed,
budget-gated, polled, bundled and picked from a URI like a built-in cloud."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint, EntryPoints
from importlib.resources import files
from pathlib import Path

import pytest

from cloudgd import registry, runner
from cloudgd.cost.catalog import SCHEMA_VERSION, refreshed_dir

from .conftest import Invoke
from .plugin_cloud.provider import AcmeCloud

ACME_ROW = "acme,acme-training,moon-1,acme.small,,0,4,16,0.5,0.2,test plug-in,2026-11-24\n"

JOB = """\
name: acme-demo
resources: {accelerator: none, nodes: 1}
limits: {max_runtime: 6h, max_cost_usd: %s}
"""


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """acme installed as a plug-in, with one machine in a refreshed price catalog."""
    plugin = EntryPoint("acme", "tests.cli.plugin_cloud.provider:AcmeCloud", "cloudgd.providers")
    monkeypatch.setattr(registry, "entry_points", lambda: EntryPoints([plugin]))
    catalog = refreshed_dir()
    catalog.mkdir(parents=True)
    bundled = files("cloudgd").joinpath("data", "prices.csv").read_text(encoding="utf-8")
    (catalog / "prices.csv").write_text(bundled + ACME_ROW)
    meta = {"schema_version": SCHEMA_VERSION, "as_of": "2026-11-24", "files": ["prices.csv"]}
    (catalog / "catalog.json").write_text(json.dumps(meta))
    AcmeCloud.polls = []
    yield


def job(tmp_path: Path, budget: float) -> str:
    path = tmp_path / "job.yaml"
    path.write_text(JOB % budget)
    return str(path)


def test_a_plug_in_cloud_is_one_of_the_clouds(acme: None) -> None:
    assert registry.cloud_names() == ("aws", "gcp", "azure", "acme")
    assert registry.is_cloud("acme") and not registry.is_cloud("fake")


def test_catalog_lists_a_plug_in_clouds_machines(acme: None, invoke: Invoke) -> None:
    result = invoke("catalog", "--provider", "acme", "--output", "json")
    assert result.exit_code == 0, result.output
    offers = json.loads(result.stdout)["offers"]
    assert [(o["instance_type"], o["price_per_hour"]) for o in offers] == [("acme.small", 0.5)]


def test_catalog_refuses_a_provider_that_is_no_cloud(acme: None, invoke: Invoke) -> None:
    result = invoke("catalog", "--provider", "fake")
    assert result.exit_code == 2
    assert "'fake' is not one of 'aws', 'gcp', 'azure', 'acme'" in result.stderr


def test_cost_compares_a_plug_in_cloud_with_the_built_ins(
    acme: None, invoke: Invoke, tmp_path: Path
) -> None:
    result = invoke("cost", job(tmp_path, 100), "--output", "json")
    assert result.exit_code == 0, result.output
    providers = {e["provider"] for e in json.loads(result.stdout)["estimates"]}
    assert {"aws", "acme"} <= providers


def test_the_budget_gate_holds_a_plug_in_cloud_to_its_budget(
    acme: None, invoke: Invoke, tmp_path: Path
) -> None:
    # 1 x acme.small at $0.50/h for 6h is $3.00 worst case.
    refused = invoke("submit", job(tmp_path, 2), "--provider", "acme")
    assert refused.exit_code == 2, refused.output
    assert "limits.max_cost_usd: worst case $3.00" in refused.stderr
    # The same spec on a provider that is no cloud has no catalog price to gate.
    assert invoke("submit", job(tmp_path, 2), "--provider", "fake").exit_code == 0


def test_waiting_polls_at_the_providers_own_interval(
    acme: None, invoke: Invoke, tmp_path: Path
) -> None:
    result = invoke("submit", job(tmp_path, 100), "--provider", "acme", "--wait")
    assert result.exit_code == 0, result.output
    assert AcmeCloud.polls == [0.25]


def test_the_bundle_format_comes_from_the_provider(acme: None, tmp_path: Path) -> None:
    bundled = runner.plan(job(tmp_path, 100), "acme")
    assert bundled.ctx.bundle is not None and bundled.ctx.bundle.format == "sdist"
    assert runner.plan(job(tmp_path, 100), "local").ctx.bundle is None


def test_data_upload_picks_a_plug_in_cloud_from_its_uri_scheme(
    acme: None, invoke: Invoke, tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("label,x\n0,1\n")
    result = invoke("data", "upload", str(data), "acme://bucket/train.csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "acme://bucket/train.csv"


def test_a_broken_plug_in_leaves_the_cloud_listing_working(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke, tmp_path: Path
) -> None:
    broken = EntryPoint("broken", "no_such_package.provider:Nope", "cloudgd.providers")
    monkeypatch.setattr(registry, "entry_points", lambda: EntryPoints([broken]))
    assert registry.cloud_names() == ("aws", "gcp", "azure")
    result = invoke("plan", job(tmp_path, 100), "--provider", "broken")
    assert result.exit_code == 3
    assert "provider 'broken' could not be loaded" in result.stderr

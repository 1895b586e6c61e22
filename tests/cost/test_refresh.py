"""`cloudgd catalog refresh`: recorded vendor responses (tests/cost/fixtures/prices) in,
catalog rows out, checked against hand-computed values. Nothing touches the network:
responses are injected through a fetch function or served from 127.0.0.1."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloudgd.accelerators import parse_accelerator
from cloudgd.cli.main import cli
from cloudgd.cost.catalog import Catalog, PriceRow, load_catalog, refreshed_dir
from cloudgd.cost.price_feed import RefreshError
from cloudgd.cost.refresh import refresh
from cloudgd.cost.select import choose_instance
from cloudgd.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "prices"
TODAY = date(2026, 12, 7)
AWS = "https://pricing.us-east-1.amazonaws.com"
AZURE_PAGE_2 = "$skip=100"


def recorded(url: str) -> bytes:
    """The recorded response for a vendor URL (what the real API would have sent)."""
    if url.startswith(AWS):
        return (FIXTURES / "aws" / url.removeprefix(AWS + "/")).read_bytes()
    if url.startswith("https://prices.azure.com/"):
        page = 2 if AZURE_PAGE_2 in url else 1
        if page == 1 and "armRegionName%20eq%20%27eastus%27" not in url:
            return b'{"Items": [], "NextPageLink": null}'  # other regions: nothing recorded
        return (FIXTURES / "azure" / f"eastus-page{page}.json").read_bytes()
    if url.startswith("https://cloudbilling.googleapis.com/v1/services/"):
        assert "key=test-key" in url
        service = {
            "C7E2-9256-1C43": "vertex",
            "6F81-5844-456A": "compute",
            "E000-3F24-B8AA": "tpu",
        }[url.split("/")[5]]
        page = 2 if "pageToken=page-2" in url else 1
        return (FIXTURES / "gcp" / f"{service}-page{page}.json").read_bytes()
    raise AssertionError(f"unexpected URL {url}")


def small_catalog(**regions: str) -> Catalog:
    """The bundled catalog cut down to one region per provider (so a refresh reads one)."""
    bundled = load_catalog()
    keep = tuple(r for r in bundled.prices if regions.get(r.provider) == r.region)
    return dataclasses.replace(bundled, prices=keep, carbon=())


def rows_of(target: Path) -> list[PriceRow]:
    from cloudgd.cost.catalog import parse_prices

    return list(parse_prices((target / "prices.csv").read_text()))


def find(rows: list[PriceRow], service: str, name: str, count: int | None = None) -> PriceRow:
    [row] = [
        r
        for r in rows
        if r.service == service
        and r.instance_type == name
        and (count is None or r.accelerator_count == count)
    ]
    return row


def run(catalog: Catalog, target: Path, *providers: str, **extra: object) -> list[str]:
    lines: list[str] = []
    refresh(
        catalog,
        target,
        providers=providers,
        fetch=recorded,
        progress=lines.append,
        today=TODAY,
        **extra,  # type: ignore[arg-type]
    )
    return lines


def test_aws_keeps_only_sagemaker_training_rows_and_their_ec2_stand_ins(tmp_path: Path) -> None:
    lines = run(small_catalog(aws="us-east-1"), tmp_path, "aws", regions=("eu-central-1",))
    rows = [r for r in rows_of(tmp_path) if r.region == "eu-central-1"]
    g5 = find(rows, "sagemaker", "ml.g5.xlarge")
    # Train 1.72 (not Hosting 1.76 nor Notebook 1.75); managed spot from the TrSpt usage type
    assert (g5.price_per_hour, g5.spot_price_per_hour) == (1.72, 0.516)
    assert (g5.accelerator, g5.accelerator_count, g5.vcpus, g5.memory_gib) == ("A10G", 1, 4, 16)
    assert g5.as_of == date(2026, 12, 1) and "AmazonSageMaker eu-central-1" in g5.source
    assert find(rows, "sagemaker", "ml.p4d.24xlarge").price_per_hour == 45.85
    c5 = find(rows, "sagemaker", "ml.c5.2xlarge")  # not the Processing rate 0.48
    assert (c5.price_per_hour, c5.accelerator, c5.vcpus) == (0.486, None, 8)
    # A GPU machine cloudgd cannot name keeps blank facts: priced, never picked for CPU jobs.
    g6e = find(rows, "sagemaker", "ml.g6e.xlarge")
    assert (g6e.price_per_hour, g6e.vcpus, g6e.accelerator_count) == (2.27, None, None)
    # EC2: Linux, shared tenancy, no SQL, used capacity; only machines SageMaker trains on
    assert find(rows, "ec2", "g5.xlarge").price_per_hour == 1.229
    assert find(rows, "ec2", "p4d.24xlarge").price_per_hour == 36.18
    assert not [r for r in rows if r.instance_type == "m5.large"]
    assert len(rows) == 6
    assert "aws: AmazonSageMaker has no price file for us-east-1; skipped" in lines
    # Regions the price list lacks keep their rows (us-east-1's transcribed training rates).
    kept = [r for r in rows_of(tmp_path) if r.region == "us-east-1"]
    assert find(kept, "sagemaker", "ml.g5.xlarge").price_per_hour == 1.408


def test_azure_follows_next_page_link_and_keeps_linux_pay_as_you_go(tmp_path: Path) -> None:
    run(small_catalog(azure="eastus"), tmp_path, "azure")
    rows = rows_of(tmp_path)
    t4 = find(rows, "azure_ml", "Standard_NC4as_T4_v3")
    # 0.526 Linux (not Windows 0.71, not DevTest 0.3); spot column = Low Priority 0.1052
    assert (t4.price_per_hour, t4.spot_price_per_hour) == (0.526, 0.1052)
    assert (t4.accelerator, t4.accelerator_count, t4.vcpus, t4.memory_gib) == ("T4", 1, 4, 28)
    v100 = find(rows, "azure_ml", "Standard_NC6s_v3")  # page 2; the 1/Month meter is skipped
    assert (v100.price_per_hour, v100.spot_price_per_hour) == (3.06, 0.306)
    l4 = find(rows, "azure_ml", "Standard_NC8ads_L4_v1")
    assert (l4.price_per_hour, l4.spot_price_per_hour, l4.vcpus) == (1.15, None, None)
    assert {r.as_of for r in rows if r.provider == "azure"} == {TODAY}
    assert len([r for r in rows if r.provider == "azure"]) == 3


def test_gcp_vertex_training_rows_and_compute_engine_stand_ins(tmp_path: Path) -> None:
    run(small_catalog(gcp="us-central1"), tmp_path, "gcp", gcp_api_key="test-key")
    rows = [r for r in rows_of(tmp_path) if r.provider == "gcp"]
    n1 = find(rows, "vertex", "n1-standard-8")  # 0.437 + 131100000 nanos; commitments skipped
    assert (n1.price_per_hour, n1.spot_price_per_hour, n1.vcpus) == (0.437, 0.1311, 8)
    assert find(rows, "vertex", "g2-standard-8").price_per_hour == 0.3376  # second page
    # Per-GPU-hour add-on x each count the shapes use: T4 attaches 1/2/4 to n1
    t4 = {
        r.accelerator_count: r.price_per_hour
        for r in rows
        if r.service == "vertex" and r.accelerator == "T4"
    }
    assert t4 == {1: 0.4025, 2: 0.805, 4: 1.61}
    [l4] = [r for r in rows if r.service == "vertex" and r.accelerator == "L4"]
    assert (l4.accelerator_count, l4.price_per_hour, l4.spot_price_per_hour) == (1, 0.644, 0.2576)
    # Compute Engine host: 8 vCPUs x 0.031611 + 30 GiB x 0.004237 = 0.379998 (sole tenancy skipped)
    host = find(rows, "compute_engine", "n1-standard-8")
    assert host.price_per_hour == pytest.approx(0.379998)
    assert host.spot_price_per_hour == pytest.approx(8 * 0.00698 + 30 * 0.000936)  # 0.08392
    ce_t4 = {
        r.accelerator_count: r.price_per_hour
        for r in rows
        if r.service == "compute_engine" and r.accelerator == "T4"
    }
    assert ce_t4 == {1: 0.35, 2: 0.7, 4: 1.4}
    # TPU v5e: the per-chip SKU (1.2; the pod SKU is not a slice price) x chips per slice
    tpu = {r.instance_type: r.price_per_hour for r in rows if r.service == "tpu"}
    assert tpu == {"tpu-v5litepod-1": 1.2, "tpu-v5litepod-4": 4.8, "tpu-v5litepod-8": 9.6}


def test_a_refreshed_catalog_wins_shows_its_date_and_prices_training_rates(
    cloudgd_home: Path,
) -> None:
    assert load_catalog().origin == "bundled"
    run(small_catalog(gcp="us-central1"), refreshed_dir(), "gcp", gcp_api_key="test-key")
    catalog = load_catalog()
    assert (catalog.origin, catalog.as_of) == (str(cloudgd_home / "catalog"), TODAY)
    choice = choose_instance("gcp", parse_accelerator("T4:1"), "us-central1")
    # Vertex n1-standard-8 0.437 + Vertex T4 add-on 0.4025
    assert (choice.price_basis, choice.price_per_hour) == ("training", 0.8395)
    listing = CliRunner().invoke(cli, ["catalog", "--provider", "gcp", "--output", "json"])
    assert json.loads(listing.stdout)["as_of"] == "2026-12-07"
    assert json.loads(listing.stdout)["origin"] == str(cloudgd_home / "catalog")


def test_an_interrupted_refresh_leaves_the_previous_catalog(tmp_path: Path) -> None:
    catalog = small_catalog(aws="us-east-1", azure="eastus")
    run(catalog, tmp_path, "azure")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(url: str) -> bytes:
        if AZURE_PAGE_2 in url:  # AWS is read by now; Azure's second page never comes
            raise KeyboardInterrupt
        return recorded(url)

    with pytest.raises(KeyboardInterrupt):
        refresh(catalog, tmp_path, providers=("aws", "azure"), fetch=interrupted,
                progress=lambda _: None, today=date(2027, 1, 1))  # fmt: skip
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temp files


@pytest.mark.parametrize(
    ("provider", "broken", "message"),
    [
        ("aws", b'{"products": {}, "publicationDate": "2026-12-01"}', "no 'terms' field"),
        ("aws", b"<html>503</html>", "not JSON"),
        ("azure", b'{"items": []}', "no 'Items' field"),
        ("gcp", b'{"skus": [{"description": "x", "category": {"usageType": "OnDemand"}}]}',
         "no 'serviceRegions' field"),
    ],
)  # fmt: skip
def test_a_response_of_unknown_shape_is_refused_not_guessed(
    tmp_path: Path, provider: str, broken: bytes, message: str
) -> None:
    def fetch(url: str) -> bytes:
        # AWS: the indexes are fine, the SageMaker price file is not.
        if provider == "aws" and not ("20261201000000" in url and "SageMaker" in url):
            return recorded(url)
        return broken

    with pytest.raises(RefreshError, match=message) as info:
        refresh(small_catalog(), tmp_path, providers=(provider,), regions=("eu-central-1",),
                fetch=fetch, progress=lambda _: None, today=TODAY, gcp_api_key="k")  # fmt: skip
    assert info.value.exit_code == 3
    assert not (tmp_path / "prices.csv").exists()


def test_gcp_without_an_api_key_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="API key") as info:
        run(small_catalog(gcp="us-central1"), tmp_path, "gcp")
    assert "GOOGLE_API_KEY" in (info.value.hint or "")


@pytest.fixture
def price_mirror() -> Iterator[str]:
    """The recorded AWS bulk files served over HTTP from 127.0.0.1 (stopped afterwards)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(FIXTURES / "aws"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_catalog_refresh_command_downloads_with_progress_and_wins(
    price_mirror: str, cloudgd_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    result = CliRunner().invoke(
        cli,
        ["catalog", "refresh", "--region", "eu-central-1", "--provider", "aws",
         "--price-api", f"aws={price_mirror}"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "aws: reading AmazonSageMaker prices for eu-central-1" in result.stderr
    assert "refreshed: aws 6 rows" in result.stdout
    assert f"(refreshed, {cloudgd_home / 'catalog'})" in result.stdout
    choice = choose_instance("aws", parse_accelerator("A10G:1"), "eu-central-1")
    assert (choice.price_basis, choice.price_per_hour) == ("training", 1.72)


def test_catalog_refresh_without_a_key_skips_gcp_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    result = CliRunner().invoke(
        cli, ["catalog", "refresh", "--price-api", "aws=http://127.0.0.1:9", "--provider", "gcp"]
    )
    assert result.exit_code == 2
    assert "API key" in result.stderr


def test_the_maintainers_script_is_the_same_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / "refresh_catalog.py"
    spec = importlib.util.spec_from_file_location("refresh_catalog", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "http_fetch", lambda progress: recorded)
    out = tmp_path / "data"
    code = script.main(["--provider", "azure", "--out", str(out), "--as-of", "2026-12-07"])
    assert code == 0
    t4 = find(rows_of(out), "azure_ml", "Standard_NC4as_T4_v3")
    assert (t4.region, t4.price_per_hour, t4.spot_price_per_hour) == ("eastus", 0.526, 0.1052)
    meta = json.loads((out / "catalog.json").read_text())
    assert (meta["as_of"], meta["files"]) == ("2026-12-07", ["prices.csv"])

"""Vertex AI's pricing rules, and the reader of the Cloud Billing Catalog API.

``service=vertex`` rows are custom-training rates (machine type + accelerator add-on);
Compute Engine and Cloud TPU list prices stand in where Vertex rates are missing. GPUs
are billed apart from the machine, per GPU-hour.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cloudgd.cost.catalog import PriceRow
from cloudgd.cost.price_feed import (
    MAX_PAGES,
    Facts,
    RefreshError,
    RefreshRequest,
    fetch_json,
    known_facts,
    make_row,
    need,
)
from cloudgd.cost.rules import PricingRules
from cloudgd.errors import UsageError

# Vertex AI AcceleratorType enum names (PROVENANCE.md, "Vertex NVIDIA_* → catalog names").
VERTEX_ACCELERATOR_TYPES: dict[str, str] = {
    "T4": "NVIDIA_TESLA_T4",
    "V100": "NVIDIA_TESLA_V100",
    "A100": "NVIDIA_TESLA_A100",
    "A100-80GB": "NVIDIA_A100_80GB",
    "L4": "NVIDIA_L4",
    "H100": "NVIDIA_H100_80GB",
}

# --- Reading the Cloud Billing Catalog API (shared/PRICE-APIS.md, "Google Cloud") ---------

SERVICE_IDS = {
    "vertex": "C7E2-9256-1C43",
    "compute_engine": "6F81-5844-456A",
    "tpu": "E000-3F24-B8AA",
}
_DEFAULT_BASE = "https://cloudbilling.googleapis.com"
_USAGE = {"OnDemand": "on_demand", "Preemptible": "spot"}
# Compute Engine GPU SKU names ("Nvidia Tesla T4 GPU running in Americas") → canonical.
_CE_GPUS = {
    "Tesla T4": "T4",
    "Tesla V100": "V100",
    "Tesla A100": "A100",
    "A100 80GB": "A100-80GB",
    "L4": "L4",
    "H100 80GB": "H100",
}
_VERTEX_MACHINE = re.compile(r"^Custom training (?P<name>[a-z][a-z0-9]*(?:-[a-z0-9]+)+)\b")
_VERTEX_GPU = re.compile(r"^Accelerator (?P<name>[A-Z0-9_]+) \(training\)")
_CE_PART = re.compile(
    r"^(?:Spot Preemptible )?(?P<family>[A-Za-z][A-Za-z0-9]*) (?:Predefined )?Instance "
    r"(?P<part>Core|Ram) running in "
)
_CE_GPU = re.compile(r"^(?:Spot Preemptible )?Nvidia (?P<name>.+?) GPU running in ")
_TPU_V5E = re.compile(r"(?i)\btpu[-\s]?v5e\b(?!.*\bpod\b)")
_SKIP = ("Sole Tenancy", "Reserved", "Premium", "Commitment", "Custom Instance")


@dataclass(frozen=True)
class Sku:
    """The parts of one Billing Catalog SKU that price a machine."""

    description: str
    usage: str  # on_demand or spot
    regions: tuple[str, ...]
    price: float  # USD per usage unit (hour, GiB-hour, GPU-hour)


def parse_sku(raw: Any, what: str) -> Sku | None:
    """One SKU, or None when it is not hourly on-demand/preemptible USD usage."""
    description = need(raw, "description", str, what)
    usage = _USAGE.get(need(need(raw, "category", dict, what), "usageType", str, what))
    regions = need(raw, "serviceRegions", list, what)
    info = need(raw, "pricingInfo", list, what)
    if usage is None or not info:
        return None
    expression = need(info[0], "pricingExpression", dict, what)
    rates = need(expression, "tieredRates", list, what)
    if not rates:
        return None
    unit = need(rates[-1], "unitPrice", dict, what)  # the last tier: beyond any free usage
    if unit.get("currencyCode", "USD") != "USD":
        return None
    try:
        price = int(unit.get("units") or 0) + int(unit.get("nanos") or 0) / 1e9
    except (TypeError, ValueError):
        raise RefreshError(f"{what}: unitPrice {unit!r} is not units + nanos") from None
    return Sku(description, usage, tuple(str(r) for r in regions), price)


def skus(request: RefreshRequest, service: str) -> list[Sku]:
    """Every SKU of one billing service, following nextPageToken."""
    if not request.api_key:
        raise UsageError(
            "Google Cloud prices need an API key (the Cloud Billing Catalog API)",
            hint="pass --gcp-api-key KEY or set GOOGLE_API_KEY, or refresh --provider aws/azure",
        )
    base = (request.base_url or _DEFAULT_BASE).rstrip("/")
    out: list[Sku] = []
    token = ""
    for page in range(1, MAX_PAGES + 1):
        url = f"{base}/v1/services/{SERVICE_IDS[service]}/skus?key={quote(request.api_key)}"
        url += f"&pageToken={quote(token)}" if token else ""
        what = f"Cloud Billing Catalog {service} page {page}"
        document = fetch_json(request.fetch, url, what)
        out += [s for s in (parse_sku(r, what) for r in need(document, "skus", list, what)) if s]
        token = document.get("nextPageToken") or ""
        if not isinstance(token, str):
            raise RefreshError(f"{what}: unknown response shape (nextPageToken not a string)")
        if not token:
            return out
    raise RefreshError(f"Cloud Billing Catalog {service}: more than {MAX_PAGES} pages; stopped")


Rates = dict[tuple[str, str, str], float]  # (name, region, usage) → price


def _collect(
    found: list[Sku], regions: tuple[str, ...], match: Callable[[str], str | None]
) -> Rates:
    """(name, region, usage) → price for the SKUs ``match`` names, in ``regions``."""
    rates: Rates = {}
    for sku in found:
        if any(word in sku.description for word in _SKIP):
            continue
        name = match(sku.description)
        if name is None:
            continue
        for region in (r for r in sku.regions if r in regions):
            rates[(name, region, sku.usage)] = sku.price
    return rates


def _counts(request: RefreshRequest) -> dict[str, set[int]]:
    """Accelerator → the per-node counts the shapes table uses (one row each)."""
    counts: dict[str, set[int]] = defaultdict(set)
    for s in (s for s in request.shapes if s.provider == "gcp" and not s.tpu_topology):
        if s.accelerator:
            counts[s.accelerator].add(s.accelerator_count)
        for name, attachable in s.attachable.items():
            counts[name].update(attachable)
    return counts


def _pair(rates: Rates, name: str, region: str, times: float = 1.0) -> tuple[float | None, ...]:
    on, spot = rates.get((name, region, "on_demand")), rates.get((name, region, "spot"))
    return (None if on is None else on * times, None if spot is None else spot * times)


def _accelerator_rows(
    request: RefreshRequest, service: str, rates: Rates, region: str, source: str
) -> list[PriceRow]:
    """Accelerator-only rows: the per-GPU-hour SKU × each count cloudgd's shapes use."""
    out = []
    for name, counts in sorted(_counts(request).items()):
        for n in sorted(counts):
            on, spot = _pair(rates, name, region, n)
            if on is not None:
                facts = Facts(name, n, None, None)
                out.append(
                    make_row(
                        "gcp",
                        service,
                        region,
                        "",
                        facts,
                        on,
                        spot,
                        f"{source}; per-GPU-hour SKU × {n}",
                        request.today,
                    )
                )
    return out


def vertex_rows(request: RefreshRequest, found: list[Sku]) -> list[PriceRow]:
    """Vertex AI custom-training rows: one per machine type, plus accelerator add-ons."""
    inverse = {v: k for k, v in VERTEX_ACCELERATOR_TYPES.items()}

    def machine(text: str) -> str | None:
        m = _VERTEX_MACHINE.match(text)
        return m.group("name") if m else None

    def gpu(text: str) -> str | None:
        m = _VERTEX_GPU.match(text)
        return inverse.get(m.group("name")) if m else None

    machines, gpus = (
        _collect(found, request.regions, machine),
        _collect(found, request.regions, gpu),
    )
    source = "Cloud Billing Catalog API, Vertex AI service C7E2-9256-1C43 (custom training)"
    rows = []
    for name, region in sorted({(n, r) for n, r, _ in machines}):
        on, spot = _pair(machines, name, region)
        if on is not None:
            facts = known_facts(request, "gcp", name)
            rows.append(
                make_row("gcp", "vertex", region, name, facts, on, spot, source, request.today)
            )
    for region in request.regions:
        rows += _accelerator_rows(request, "vertex", gpus, region, source)
    return rows


def compute_rows(
    request: RefreshRequest, found: list[Sku], tpu_skus: tuple[Sku, ...] | list[Sku] = ()
) -> list[PriceRow]:
    """Compute Engine stand-ins: each shape's host (vCPUs × core + GiB × RAM SKU of its
    family), GPUs per count, and TPU v5e slices (per-chip SKU × chips; the chip SKU is
    in the Compute Engine or the Cloud TPU service)."""

    def part(text: str) -> str | None:
        m = _CE_PART.match(text)
        return f"{m.group('family').lower()}:{m.group('part').lower()}" if m else None

    def ce_gpu(text: str) -> str | None:
        m = _CE_GPU.match(text)
        return _CE_GPUS.get(m.group("name")) if m else None

    def tpu(text: str) -> str | None:
        return "v5e" if _TPU_V5E.search(text) else None

    parts = _collect(found, request.regions, part)
    gpus = _collect(found, request.regions, ce_gpu)
    chips = _collect([*found, *tpu_skus], request.regions, tpu)
    source = "Cloud Billing Catalog API, Compute Engine service 6F81-5844-456A"
    rows: list[PriceRow] = []
    for region in request.regions:
        for s in (s for s in request.shapes if s.provider == "gcp"):
            if s.tpu_topology:
                on, spot = _pair(chips, "v5e", region, s.accelerator_count)
                if s.accelerator == "TPU-v5e" and on is not None:
                    rows.append(
                        make_row(
                            "gcp",
                            "tpu",
                            region,
                            s.price_key,
                            None,
                            on,
                            spot,
                            f"{source}; TPU v5e per-chip SKU × {s.accelerator_count}",
                            request.today,
                        )
                    )
                continue
            family = s.instance_type.split("-")[0]
            core = _pair(parts, f"{family}:core", region, s.vcpus)
            ram = _pair(parts, f"{family}:ram", region, s.memory_gib)
            if core[0] is None or ram[0] is None:
                continue
            spot = None if core[1] is None or ram[1] is None else core[1] + ram[1]
            facts = Facts(None, 0, s.vcpus, s.memory_gib)
            rows.append(
                make_row(
                    "gcp",
                    "compute_engine",
                    region,
                    s.price_key,
                    facts,
                    core[0] + ram[0],
                    spot,
                    f"{source}; vCPUs × core SKU + GiB × RAM SKU ({family})",
                    request.today,
                )
            )
        rows += _accelerator_rows(request, "compute_engine", gpus, region, source)
    return rows


def refresh(request: RefreshRequest) -> list[PriceRow]:
    """Vertex training rows and Compute Engine / TPU stand-ins for the requested regions."""
    request.progress("gcp: reading Vertex AI SKUs")
    rows = vertex_rows(request, skus(request, "vertex"))
    request.progress("gcp: reading Compute Engine SKUs")
    found = skus(request, "compute_engine")
    request.progress("gcp: reading Cloud TPU SKUs")
    return rows + compute_rows(request, found, skus(request, "tpu"))


RULES = PricingRules(
    provider="gcp",
    training_label="Vertex AI custom training",
    training_services=("vertex",),
    stand_in_services=("compute_engine", "tpu"),
    stand_in_label="Compute Engine / Cloud TPU list price",
    default_region="us-central1",
    instance_type_pattern=r"[a-z][a-z0-9]*(-[a-z0-9]+)+",
    instance_type_example="n1-standard-8 or a2-highgpu-1g",
    region_pattern=r"[a-z]+(-[a-z]+)*\d+",
    region_example="europe-west4",
    split_accelerators=True,
    accelerator_types=VERTEX_ACCELERATOR_TYPES,
    alternatives={
        "trainium": "Trainium is AWS only: use --provider aws, or tpu-v5e:8 / A100:8 on GCP",
    },
    refresh=refresh,
    refresh_needs_api_key=True,
)

"""Azure ML's pricing rules: compute bills at the Virtual Machines rate (no Azure ML
surcharge for training), so ``service=azure_ml`` rows are the training rate; and the
reader of the public Retail Prices API that refreshes them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from cloudgd.cost.catalog import PriceRow
from cloudgd.cost.price_feed import (
    MAX_PAGES,
    RefreshError,
    RefreshRequest,
    fetch_json,
    known_facts,
    make_row,
    need,
    price_number,
)
from cloudgd.cost.rules import PricingRules

_DEFAULT_BASE = "https://prices.azure.com"
_FIELDS = ("armSkuName", "armRegionName", "skuName", "productName", "unitOfMeasure", "type")


def _first_page(base: str, region: str) -> str:
    query = (
        f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' "
        "and priceType eq 'Consumption'"
    )
    return f"{base}/api/retail/prices?api-version=2023-01-01-preview&$filter={quote(query)}"


def items(request: RefreshRequest, region: str) -> list[dict[str, Any]]:
    """Every Retail Prices item for Virtual Machines in ``region``, following NextPageLink."""
    base = (request.base_url or _DEFAULT_BASE).rstrip("/")
    url: str | None = _first_page(base, region)
    out: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        if url is None:
            return out
        what = f"Azure Retail Prices {region} page {page}"
        document = fetch_json(request.fetch, url, what)
        out += need(document, "Items", list, what)
        link = document.get("NextPageLink")
        if link is not None and not isinstance(link, str):
            raise RefreshError(f"{what}: unknown response shape (NextPageLink is not a URL)")
        # A mirror serves the pages the API links to under its own address.
        url = link.replace(_DEFAULT_BASE, base, 1) if link else None
        if page % 10 == 0:
            request.progress(f"azure: {region}: {len(out)} prices read ({page} pages)")
    raise RefreshError(f"Azure Retail Prices {region}: more than {MAX_PAGES} pages; stopped")


def vm_rows(request: RefreshRequest, region: str, found: list[dict[str, Any]]) -> list[PriceRow]:
    """Linux pay-as-you-go VM rates per size: on-demand, and the Low Priority rate (the
    Azure ML low-priority tier cloudgd uses for spot), else the Spot rate."""
    what = f"Azure Retail Prices {region}"
    rates: dict[str, dict[str, float]] = {}
    for item in found:
        for key in _FIELDS:
            need(item, key, str, what)
        if item["type"] != "Consumption" or item["unitOfMeasure"] != "1 Hour":
            continue
        if "Windows" in item["productName"] or item.get("currencyCode", "USD") != "USD":
            continue
        if item["armRegionName"] != region:
            continue
        sku_name: str = item["skuName"]
        kind = (
            "low_priority"
            if sku_name.endswith(" Low Priority")
            else "spot"
            if sku_name.endswith(" Spot")
            else "on_demand"
        )
        price = price_number(need(item, "retailPrice", (int, float), what), what)
        size = rates.setdefault(item["armSkuName"], {})
        # Several meters for one size and kind: keep the highest (an estimate must not
        # promise less than the bill).
        size[kind] = max(size.get(kind, 0.0), price)
    source = (
        "Azure Retail Prices API (Virtual Machines, Linux, Consumption; spot column = Low "
        "Priority rate, else Spot); Azure ML compute bills at the VM rate"
    )
    return [
        make_row(
            "azure",
            "azure_ml",
            region,
            size,
            known_facts(request, "azure", size),
            r["on_demand"],
            r.get("low_priority", r.get("spot")),
            source,
            request.today,
        )
        for size, r in sorted(rates.items())
        if "on_demand" in r and r["on_demand"] > 0
    ]


def refresh(request: RefreshRequest) -> list[PriceRow]:
    """Azure ML (VM-rate) rows for each requested region."""
    rows: list[PriceRow] = []
    for region in request.regions:
        request.progress(f"azure: reading Virtual Machines prices for {region}")
        rows += vm_rows(request, region, items(request, region))
    return rows


RULES = PricingRules(
    provider="azure",
    training_label="Azure ML compute, billed at the VM rate",
    training_services=("azure_ml",),
    stand_in_services=(),
    stand_in_label=None,
    default_region="eastus",
    region_pattern=r"[a-z][a-z0-9]+",
    region_example="westus2",
    instance_type_pattern=r"Standard_[A-Za-z0-9_]+",
    instance_type_example="Standard_NC6s_v3",
    alternatives={
        "tpu": "Azure has no TPUs: use a GPU such as A100:8 or T4:1, or --provider gcp",
        "trainium": "Trainium is AWS only: use --provider aws, or A100:8 on Azure",
    },
    refresh=refresh,
)

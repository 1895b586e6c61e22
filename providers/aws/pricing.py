"""SageMaker's pricing rules: training rows are ``service=sagemaker``; EC2 rows stand in."""

from __future__ import annotations

from datetime import date
from typing import Any

from cloudgd.cost.catalog import PriceRow
from cloudgd.cost.price_feed import (
    Facts,
    RefreshError,
    RefreshRequest,
    fetch_json,
    known_facts,
    make_row,
    need,
    price_number,
)
from cloudgd.cost.rules import PricingRules

# --- Reading the AWS Price List bulk files (shared/PRICE-APIS.md, "AWS") -------------------

_DEFAULT_BASE = "https://pricing.us-east-1.amazonaws.com"


def _url(base: str, path: str) -> str:
    return path if path.startswith("http") else base.rstrip("/") + "/" + path.lstrip("/")


def _price_file(request: RefreshRequest, offer: str, region: str, index: dict[str, Any]) -> Any:
    """The per-region price file of ``offer``, found through the offer and region indexes."""
    base = request.base_url or _DEFAULT_BASE
    offers = need(index, "offers", dict, "AWS offer index")
    entry = need(offers, offer, dict, "AWS offer index offers")
    region_index_url = need(entry, "currentRegionIndexUrl", str, f"AWS offer index {offer}")
    regions = need(
        fetch_json(request.fetch, _url(base, region_index_url), f"AWS {offer} region index"),
        "regions",
        dict,
        f"AWS {offer} region index",
    )
    if region not in regions:
        request.progress(f"aws: {offer} has no price file for {region}; skipped")
        return None
    version_url = need(regions[region], "currentVersionUrl", str, f"AWS {offer} {region}")
    request.progress(f"aws: reading {offer} prices for {region}")
    return fetch_json(request.fetch, _url(base, version_url), f"AWS {offer} {region} price file")


def _hourly(terms: Any, what: str) -> float | None:
    """The USD per hour of one product's OnDemand terms; None when it has none."""
    if not isinstance(terms, dict):
        return None
    for term in terms.values():
        dims = need(term, "priceDimensions", dict, what)
        for dim in dims.values():
            if need(dim, "unit", str, what) not in ("Hrs", "Hours"):
                continue
            usd = need(need(dim, "pricePerUnit", dict, what), "USD", str, what)
            value = price_number(usd, what)
            if value > 0:
                return value
    return None


def _memory(text: Any) -> float | None:
    """``"16 GiB"`` → 16.0; anything else → None."""
    if not isinstance(text, str) or not text.endswith("GiB"):
        return None
    try:
        return float(text.removesuffix("GiB").replace(",", "").strip())
    except ValueError:
        return None


def _facts(request: RefreshRequest, name: str, attrs: dict[str, Any]) -> Facts | None:
    known = known_facts(request, "aws", name)
    if known is not None:
        return known
    gpus = str(attrs.get("physicalGpu") or attrs.get("gpu") or "0")
    if gpus not in ("0", "NA", ""):
        return None  # a GPU machine whose GPU cloudgd cannot name: priced, never auto-picked
    try:
        vcpus = float(attrs.get("vCpu") or attrs.get("vcpu") or "")
    except ValueError:
        return None
    memory = _memory(attrs.get("memory"))
    return Facts(None, 0, vcpus, memory) if memory is not None else None


def _terms(document: dict[str, Any], what: str) -> tuple[dict[str, Any], dict[str, Any], date]:
    products = need(document, "products", dict, what)
    on_demand = need(need(document, "terms", dict, what), "OnDemand", dict, what)
    published = str(document.get("publicationDate", ""))[:10]
    try:
        as_of = date.fromisoformat(published)
    except ValueError:
        raise RefreshError(f"{what}: publicationDate {published!r} is not a date") from None
    return products, on_demand, as_of


def sagemaker_rows(
    request: RefreshRequest, region: str, document: dict[str, Any]
) -> list[PriceRow]:
    """SageMaker **training** rows of one region's AmazonSageMaker price file.

    Only ``productFamily: ML Instance`` products whose usage type is a training one
    (``USE1-Train:ml.p3.2xlarge``; managed spot: a ``TrSpt`` usage type or component
    ``SpotTraining``) count: Hosting, Notebook and Processing rates differ and are skipped.
    """
    what = f"AWS AmazonSageMaker {region} price file"
    products, on_demand, as_of = _terms(document, what)
    rates: dict[str, dict[str, float]] = {}
    facts: dict[str, Facts | None] = {}
    for sku, product in products.items():
        if not isinstance(product, dict) or product.get("productFamily") != "ML Instance":
            continue
        attrs = need(product, "attributes", dict, what)
        usage = str(attrs.get("usagetype", ""))
        kind, _, instance = usage.partition(":")
        component = str(attrs.get("platoinstancetype", ""))
        spot = "TrSpt" in kind or component == "SpotTraining"
        if not instance.startswith("ml.") or not (
            spot or ("Train" in kind and component in ("", "Training"))
        ):
            continue
        code = attrs.get("regionCode")
        if code not in (None, region):
            continue
        price = _hourly(on_demand.get(sku), what)
        if price is not None:
            rates.setdefault(instance, {})["spot" if spot else "on_demand"] = price
            facts[instance] = _facts(request, instance, attrs)
    source = (
        f"AWS Price List bulk file AmazonSageMaker {region} (publicationDate "
        f"{as_of.isoformat()}; usage type Train:, component Training; spot: TrSpt)"
    )
    return [
        make_row(
            "aws",
            "sagemaker",
            region,
            name,
            facts[name],
            r.get("on_demand"),
            r.get("spot"),
            source,
            as_of,
        )
        for name, r in sorted(rates.items())
        if "on_demand" in r
    ]


def ec2_rows(
    request: RefreshRequest, region: str, document: dict[str, Any], wanted: set[str]
) -> list[PriceRow]:
    """EC2 Linux on-demand rows (shared tenancy, no pre-installed software) for the
    machines in ``wanted`` (EC2 names): the labelled stand-ins for SageMaker."""
    what = f"AWS AmazonEC2 {region} price file"
    products, on_demand, as_of = _terms(document, what)
    out: dict[str, PriceRow] = {}
    source = (
        f"AWS Price List bulk file AmazonEC2 {region} (publicationDate {as_of.isoformat()}; "
        "Linux, Shared tenancy, on-demand)"
    )
    for sku, product in products.items():
        if not isinstance(product, dict) or product.get("productFamily") != "Compute Instance":
            continue
        attrs = need(product, "attributes", dict, what)
        name = str(attrs.get("instanceType", ""))
        if name not in wanted or name in out:
            continue
        if (attrs.get("operatingSystem"), attrs.get("tenancy")) != ("Linux", "Shared"):
            continue
        if attrs.get("preInstalledSw", "NA") != "NA" or attrs.get("capacitystatus") not in (
            None,
            "Used",
        ):
            continue
        price = _hourly(on_demand.get(sku), what)
        if price is not None:
            facts = _facts(request, name, attrs)
            out[name] = make_row("aws", "ec2", region, name, facts, price, None, source, as_of)
    return [out[k] for k in sorted(out)]


def refresh(request: RefreshRequest) -> list[PriceRow]:
    """SageMaker training rows and their EC2 stand-ins for each requested region."""
    base = request.base_url or _DEFAULT_BASE
    index = fetch_json(request.fetch, _url(base, "/offers/v1.0/aws/index.json"), "AWS offer index")
    rows: list[PriceRow] = []
    for region in request.regions:
        document = _price_file(request, "AmazonSageMaker", region, index)
        training = sagemaker_rows(request, region, document) if document else []
        rows += training
        wanted = {r.instance_type.removeprefix("ml.") for r in training}
        wanted |= {
            r.instance_type
            for r in request.known
            if r.provider == "aws" and r.service == "ec2" and r.region == region
        }
        document = _price_file(request, "AmazonEC2", region, index) if wanted else None
        rows += ec2_rows(request, region, document, wanted) if document else []
    return rows


RULES = PricingRules(
    provider="aws",
    training_label="SageMaker training",
    training_services=("sagemaker",),
    stand_in_services=("ec2",),
    stand_in_label="EC2 list price",
    default_region="us-east-1",
    region_pattern=r"[a-z]{2}(-[a-z]+)+-\d+",
    region_example="eu-central-1",
    native_prefix="ml.",
    instance_type_pattern=r"ml\.[a-z][a-z0-9-]*\.[0-9]*[a-z]+",
    instance_type_example="ml.g5.xlarge",
    refresh=refresh,
    alternatives={
        "tpu": "AWS has no TPUs: use Trainium:16 (trn1.32xlarge) or a GPU such as A100:8, "
        "or --provider gcp",
    },
)

"""Choose the machine a job runs on, per provider and region, and price it from the catalog.

Adapters and ``cloudgd cost`` both call :func:`choose_instance`, so the plan and the
estimate always describe the same machine. Prices in the choice are per node and
complete (on GCP: host row + accelerator row). Each price says its basis: the
service's own training rate, a labelled stand-in (EC2 / Compute Engine list price),
or unknown. The catalog never decides what may be submitted: an uncatalogued region
or an explicit ``instance_type`` passes through with its price unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudgd import registry
from cloudgd.accelerators import Accelerator, parse_accelerator
from cloudgd.cost.catalog import Catalog, PriceRow, load_catalog
from cloudgd.cost.rules import PricingRules
from cloudgd.errors import SpecError, UsageError
from cloudgd.spec import JobSpec

REFRESH_HINT = "cloudgd catalog refresh"

PriceBasis = Literal["training", "stand_in", "unknown"]


class InstanceChoice(BaseModel):
    """The machine chosen for each node of a job, with its catalog price and its basis."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(description="aws, gcp or azure.")
    region: str = Field(description="Cloud region the price applies to.")
    instance_type: str = Field(
        description="Provider-native type: SageMaker ml.<ec2 name>, Vertex machine type, "
        "Azure VM size."
    )
    accelerator: str | None = Field(description="Canonical accelerator name, None for CPU.")
    accelerator_count: int = Field(description="Accelerators (chips for TPUs) per node.")
    vertex_accelerator_type: str | None = Field(
        description="Vertex machineSpec.acceleratorType (GCP GPUs only)."
    )
    tpu_topology: str | None = Field(description="Vertex machineSpec.tpuTopology (GCP TPUs).")
    vcpus: float | None = Field(description="vCPUs per node; None for an uncatalogued machine.")
    memory_gib: float | None = Field(
        description="Memory per node in GiB; None for an uncatalogued machine."
    )
    price_per_hour: float | None = Field(
        description="On-demand USD per node-hour from the catalog; None when unknown."
    )
    spot_price_per_hour: float | None = Field(
        description="Spot USD per node-hour from the catalog; None when unknown."
    )
    price_basis: PriceBasis = Field(
        description="training: the service's own training rate; stand_in: another "
        "service's list price (EC2, Compute Engine) shown in its place; unknown: no row."
    )
    price_note: str = Field(description="One line saying which rate the price is, or why none.")
    sources: tuple[str, ...] = Field(description="Sources of the catalog rows used.")
    as_of: date = Field(description="Date of the oldest catalog row used.")


@dataclass(frozen=True)
class _Shape:
    """A machine shape a provider offers, before pricing."""

    instance_type: str  # catalog name (EC2 name on AWS)
    accelerator: str | None
    count: int
    vcpus: float | None
    memory_gib: float | None
    tpu_topology: str | None
    price_key: str
    source: str | None  # shapes.csv source, when the shape came from there

    @property
    def label(self) -> str:
        acc = f"{self.accelerator}:{self.count}" if self.accelerator else "none"
        return f"{self.instance_type} ({acc})"


def rules_for(provider: str) -> PricingRules:
    """The pricing rules of a cloud (from ``providers/<name>/pricing.py``)."""
    return registry.pricing_rules(provider)


def default_region(provider: str) -> str:
    """The region cloudgd uses when the spec names none."""
    return rules_for(provider).default_region


def _shapes(catalog: Catalog, rules: PricingRules) -> list[_Shape]:
    provider = rules.provider
    if rules.split_accelerators:
        out: list[_Shape] = []
        for s in (s for s in catalog.shapes if s.provider == provider):
            variants = [(s.accelerator, s.accelerator_count)]
            variants += [(a, n) for a, counts in s.attachable.items() for n in counts]
            out += [
                _Shape(s.instance_type, a, n, s.vcpus, s.memory_gib, s.tpu_topology,
                       s.price_key, s.source)
                for a, n in variants
            ]  # fmt: skip
        return out
    seen: dict[str, _Shape] = {}
    for r in catalog.prices:
        name = rules.catalog_name(r.instance_type)
        if r.provider == provider and name and name not in seen:
            seen[name] = _Shape(
                name, r.accelerator, r.accelerator_count or 0, r.vcpus, r.memory_gib,
                None, name, None,
            )  # fmt: skip
    # Machines the price table lacks (shapes.csv) can still be chosen; their price is unknown.
    for s in catalog.shapes:
        if s.provider == provider and s.instance_type not in seen:
            seen[s.instance_type] = _Shape(
                s.instance_type, s.accelerator, s.accelerator_count, s.vcpus, s.memory_gib,
                s.tpu_topology, s.price_key, s.source,
            )  # fmt: skip
    return list(seen.values())


def _price_rows(
    catalog: Catalog, rules: PricingRules, region: str, shape: _Shape, services: tuple[str, ...]
) -> list[PriceRow]:
    """The rows of ``services`` whose sum is the node price; empty when a part is missing."""
    names = dict.fromkeys([shape.price_key, rules.native(shape.price_key)])
    host = [
        r
        for name in names
        for r in catalog.rows_named(rules.provider, region, name)
        if r.service in services
    ]
    if not host:
        return []
    if not rules.split_accelerators or shape.accelerator is None or shape.tpu_topology:
        return host[:1]
    # GPUs billed apart from the host VM: add the accelerator-only row of that count.
    gpu = [
        r
        for r in catalog.rows_named(rules.provider, region, "")
        if r.service in services
        and r.accelerator == shape.accelerator
        and r.accelerator_count == shape.count
    ]
    return [host[0], gpu[0]] if gpu else []


def _sum(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None), 6)


def stand_in_gap(catalog: Catalog, rules: PricingRules) -> int | None:
    """How far below the training rate a stand-in typically is, in whole percent.

    The median of ``1 - stand_in / training`` over every machine and region the
    catalog prices both ways (on-demand); None when no machine has both.
    """
    training: dict[tuple[str, str], float] = {}
    stand_in: dict[tuple[str, str], float] = {}
    for r in catalog.prices:
        if r.provider != rules.provider or not r.instance_type or r.price_per_hour is None:
            continue
        key = (r.region, rules.catalog_name(r.instance_type))
        if r.service in rules.training_services:
            training[key] = r.price_per_hour
        elif r.service in rules.stand_in_services:
            stand_in[key] = r.price_per_hour
    gaps = [1 - stand_in[k] / training[k] for k in training if k in stand_in and training[k]]
    return round(median(gaps) * 100) if gaps else None


def _note(rules: PricingRules, basis: PriceBasis, gap: int | None) -> str:
    if basis == "training":
        return f"training rate ({rules.training_label})"
    if basis == "stand_in":
        off = (
            f"typically {gap}% below the training rate"
            if gap is not None
            else "how far below the training rate is unknown"
        )
        return f"stand-in ({rules.stand_in_label}; {off})"
    return f"price unknown: the catalog has no row; try `{REFRESH_HINT}`"


def _choice(
    catalog: Catalog, rules: PricingRules, region: str, shape: _Shape, gap: int | None
) -> InstanceChoice:
    """``shape`` priced in ``region``; ``gap`` is :func:`stand_in_gap` (computed once per
    call site: it reads every row)."""
    basis: PriceBasis = "unknown"
    rows: list[PriceRow] = []
    ladder: tuple[tuple[PriceBasis, tuple[str, ...]], ...] = (
        ("training", rules.training_services),
        ("stand_in", rules.stand_in_services),
    )
    for name, services in ladder:
        found = _price_rows(catalog, rules, region, shape, services) if services else []
        if found and _sum([r.price_per_hour for r in found]) is not None:
            basis, rows = name, found
            break
    sources = [r.source for r in rows]
    if shape.source:
        sources.append(shape.source)
    is_gpu = rules.split_accelerators and shape.accelerator and shape.tpu_topology is None
    return InstanceChoice(
        provider=rules.provider,
        region=region,
        instance_type=rules.native(shape.instance_type),
        accelerator=shape.accelerator,
        accelerator_count=shape.count,
        vertex_accelerator_type=(
            rules.accelerator_types.get(shape.accelerator or "") if is_gpu else None
        ),
        tpu_topology=shape.tpu_topology,
        vcpus=shape.vcpus,
        memory_gib=shape.memory_gib,
        price_per_hour=_sum([r.price_per_hour for r in rows]),
        spot_price_per_hour=_sum([r.spot_price_per_hour for r in rows]),
        price_basis=basis,
        price_note=_note(rules, basis, gap),
        sources=tuple(sources),
        as_of=min((r.as_of for r in rows), default=catalog.as_of),
    )


def _family(kind: str) -> str:
    return "tpu" if kind.startswith("TPU") else kind.lower()


def _matches(shape: _Shape, accelerator: Accelerator) -> bool:
    if accelerator.kind is None:
        return shape.accelerator is None
    return shape.accelerator == accelerator.kind and shape.count == accelerator.count


def _fits(shape: _Shape, min_vcpus: int | None, min_memory_gib: float | None) -> bool:
    # An uncatalogued size (no vCPU/memory figures) is never chosen automatically.
    if shape.vcpus is None or shape.memory_gib is None:
        return False
    return (min_vcpus is None or shape.vcpus >= min_vcpus) and (
        min_memory_gib is None or shape.memory_gib >= min_memory_gib
    )


def _explicit(
    rules: PricingRules,
    shapes: list[_Shape],
    instance_type: str,
    accelerator: Accelerator,
    minimums: tuple[int | None, float | None],
) -> _Shape:
    """The shape of a named machine; one the catalog lacks passes through as the spec says."""
    name = rules.catalog_name(instance_type)
    named = [s for s in shapes if s.instance_type == name]
    if not named:
        rules.check_instance_type(rules.native(instance_type))
        return _Shape(
            name, accelerator.kind, accelerator.count if accelerator.kind else 0, None, None,
            None, name, None,
        )  # fmt: skip
    shape = next((s for s in named if _matches(s, accelerator)), None)
    if shape is None:
        offers = ", ".join(f"{s.accelerator}:{s.count}" if s.accelerator else "none" for s in named)
        raise SpecError(
            f"resources.instance_type: {instance_type} has {offers} but resources.accelerator "
            f"is {accelerator}",
            hint="set resources.accelerator to match, or leave instance_type out",
        )
    min_vcpus, min_memory = minimums
    if (
        shape.vcpus is not None
        and shape.memory_gib is not None
        and not _fits(shape, min_vcpus, min_memory)
    ):
        raise SpecError(
            f"resources.instance_type: {instance_type} has {shape.vcpus:g} vCPUs and "
            f"{shape.memory_gib:g} GiB, below resources.min_vcpus/min_memory_gib",
            hint="choose a larger instance_type or lower the minimums",
        )
    return shape


def _effective_price(choice: InstanceChoice) -> tuple[bool, float]:
    return choice.price_per_hour is None, choice.price_per_hour or 0.0


def choose_instance(
    provider: str,
    accelerator: Accelerator,
    region: str,
    *,
    instance_type: str | None = None,
    min_vcpus: int | None = None,
    min_memory_gib: float | None = None,
) -> InstanceChoice:
    """The cheapest catalog machine with ``accelerator`` per node in ``region``.

    Any region is accepted (one outside the catalog is checked for syntax only; the
    cloud is the judge); where the catalog has no row the price is unknown. An
    explicit ``instance_type`` wins: a catalogued one must carry the requested
    accelerator, an uncatalogued one is checked for syntax only. Raises SpecError
    naming the spec field to fix when no catalogued shape fits.
    """
    rules = rules_for(provider)
    catalog = load_catalog()
    if region not in catalog.regions(provider):
        rules.check_region(region)
    shapes = _shapes(catalog, rules)
    if instance_type:
        shape = _explicit(rules, shapes, instance_type, accelerator, (min_vcpus, min_memory_gib))
        return _choice(catalog, rules, region, shape, stand_in_gap(catalog, rules))
    if accelerator.kind is not None:
        same_kind = [s for s in shapes if s.accelerator == accelerator.kind]
        if not same_kind:
            alt = rules.alternatives.get(_family(accelerator.kind))
            offered = sorted({f"{s.accelerator}" for s in shapes if s.accelerator})
            raise SpecError(
                f"resources.accelerator: the cloudgd shapes table has no {provider} machine "
                f"with {accelerator.kind}",
                hint=alt
                or f"name the machine in resources.instance_type; machines cloudgd can choose "
                f"on {provider} carry: {', '.join(offered)}",
            )
    matching = [s for s in shapes if _matches(s, accelerator)]
    if not matching:
        counts = sorted({s.count for s in shapes if s.accelerator == accelerator.kind})
        raise SpecError(
            f"resources.accelerator: no {provider} machine in the cloudgd shapes table has "
            f"{accelerator} per node",
            hint=f"{accelerator.kind} counts per node on {provider}: "
            + ", ".join(str(c) for c in counts)
            + "; or name the machine in resources.instance_type",
        )
    fitting = [s for s in matching if _fits(s, min_vcpus, min_memory_gib)]
    if not fitting:
        sized = [s for s in matching if s.vcpus is not None and s.memory_gib is not None]
        largest = max(sized, key=lambda s: (s.vcpus or 0, s.memory_gib or 0)) if sized else None
        raise SpecError(
            "resources.min_vcpus/min_memory_gib: no "
            f"{provider} machine with {accelerator} is that large",
            hint=f"largest: {largest.label}" if largest else "name resources.instance_type",
        )
    gap = stand_in_gap(catalog, rules)
    choices = [_choice(catalog, rules, region, s, gap) for s in fitting]
    # Cheapest known price first; unknown prices only when nothing is priced here.
    return min(choices, key=lambda c: (*_effective_price(c), c.vcpus or 0.0, c.instance_type))


def list_offers(
    provider: str | None = None, region: str | None = None, accelerator: str | None = None
) -> list[InstanceChoice]:
    """Every catalog machine per provider and region, priced (or unknown), filtered.

    ``accelerator`` is a spec accelerator name (``a100``, ``tpu-v5e``); ``none``
    lists CPU machines.
    """
    catalog = load_catalog()
    try:
        wanted = parse_accelerator(accelerator).kind if accelerator is not None else None
    except ValueError as exc:
        raise UsageError(f"--accelerator: {exc}") from None
    out: list[InstanceChoice] = []
    for name in [provider] if provider else list(registry.cloud_names()):
        rules = rules_for(name)
        gap = stand_in_gap(catalog, rules)
        if region and not provider and region not in catalog.regions(name):
            continue
        for reg in [region] if region else catalog.regions(name):
            for shape in _shapes(catalog, rules):
                if accelerator is not None and shape.accelerator != wanted:
                    continue
                out.append(_choice(catalog, rules, reg, shape, gap))
    return out


def choice_for_spec(spec: JobSpec, provider: str) -> InstanceChoice:
    """The machine a spec runs on at ``provider``: what adapters render and cost prices.

    Uses ``resources.region`` (else the provider default), ``resources.instance_type``,
    ``resources.accelerator`` and the CPU/memory minimums.
    """
    res = spec.resources
    return choose_instance(
        provider,
        res.parsed_accelerator,
        res.region or default_region(provider),
        instance_type=res.instance_type,
        min_vcpus=res.min_vcpus,
        min_memory_gib=res.min_memory_gib,
    )

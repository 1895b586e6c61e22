"""Choose the machine a job runs on, per provider and region, from the bundled catalog.

Adapters and ``cloudgd cost`` both call :func:`choose_instance`, so the plan and the
estimate always describe the same machine. Prices in the choice are per node and
complete (on GCP: host row + accelerator row); a price the catalog lacks is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from cloudgd.accelerators import Accelerator, parse_accelerator
from cloudgd.cost.catalog import Catalog, PriceRow, load_catalog
from cloudgd.errors import SpecError, UsageError
from cloudgd.spec import JobSpec

CLOUD_PROVIDERS = ("aws", "gcp", "azure")
_DEFAULT_REGIONS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}

# Vertex AI AcceleratorType enum names (PROVENANCE.md, "Vertex NVIDIA_* → catalog names").
VERTEX_ACCELERATOR_TYPES: dict[str, str] = {
    "T4": "NVIDIA_TESLA_T4",
    "V100": "NVIDIA_TESLA_V100",
    "A100": "NVIDIA_TESLA_A100",
    "A100-80GB": "NVIDIA_A100_80GB",
    "L4": "NVIDIA_L4",
    "H100": "NVIDIA_H100_80GB",
}

# When a provider lacks an accelerator family, say what to use instead.
_ALTERNATIVES: dict[tuple[str, str], str] = {
    ("aws", "tpu"): "AWS has no TPUs: use Trainium:16 (trn1.32xlarge) or a GPU such as A100:8, "
    "or --provider gcp",
    ("azure", "tpu"): "Azure has no TPUs: use a GPU such as A100:8 or T4:1, or --provider gcp",
    ("gcp", "trainium"): "Trainium is AWS only: use --provider aws, or tpu-v5e:8 / A100:8 on GCP",
    ("azure", "trainium"): "Trainium is AWS only: use --provider aws, or A100:8 on Azure",
}


class InstanceChoice(BaseModel):
    """The machine chosen for each node of a job, with its catalog price."""

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
    vcpus: float = Field(description="vCPUs per node.")
    memory_gib: float = Field(description="Memory per node in GiB.")
    price_per_hour: float | None = Field(
        description="On-demand USD per node-hour from the catalog; None when unknown."
    )
    spot_price_per_hour: float | None = Field(
        description="Spot USD per node-hour from the catalog; None when unknown."
    )
    sources: tuple[str, ...] = Field(description="Sources of the catalog rows used.")
    as_of: date = Field(description="Date of the oldest catalog row used.")


@dataclass(frozen=True)
class _Shape:
    """A machine shape a provider offers, before pricing."""

    instance_type: str  # catalog name (EC2 name on AWS)
    accelerator: str | None
    count: int
    vcpus: float
    memory_gib: float
    tpu_topology: str | None
    price_key: str
    source: str | None  # shapes.csv source, when the shape came from there

    @property
    def label(self) -> str:
        acc = f"{self.accelerator}:{self.count}" if self.accelerator else "none"
        return f"{self.instance_type} ({acc})"


def default_region(provider: str) -> str:
    """The region cloudgd uses when the spec names none."""
    try:
        return _DEFAULT_REGIONS[provider]
    except KeyError:
        raise UsageError(
            f"no catalog for provider {provider!r}",
            hint=f"cost and instance selection cover {', '.join(CLOUD_PROVIDERS)}",
        ) from None


def _shapes(catalog: Catalog, provider: str) -> list[_Shape]:
    if provider == "gcp":
        out: list[_Shape] = []
        for s in (s for s in catalog.shapes if s.provider == "gcp"):
            variants = [(s.accelerator, s.accelerator_count)]
            variants += [(a, n) for a, counts in s.attachable.items() for n in counts]
            out += [
                _Shape(
                    s.instance_type,
                    a,
                    n,
                    s.vcpus,
                    s.memory_gib,
                    s.tpu_topology,
                    s.price_key,
                    s.source,
                )
                for a, n in variants
            ]
        return out
    seen: dict[str, _Shape] = {}
    for r in catalog.prices:
        if r.provider == provider and r.instance_type not in seen:
            seen[r.instance_type] = _Shape(
                r.instance_type, r.accelerator, r.accelerator_count or 0, r.vcpus or 0.0,
                r.memory_gib or 0.0, None, r.instance_type, None,
            )  # fmt: skip
    # Machines the price table lacks (shapes.csv) can still be chosen; their price is unknown.
    for s in catalog.shapes:
        if s.provider == provider and s.instance_type not in seen:
            seen[s.instance_type] = _Shape(
                s.instance_type, s.accelerator, s.accelerator_count, s.vcpus, s.memory_gib,
                s.tpu_topology, s.price_key, s.source,
            )  # fmt: skip
    return list(seen.values())


def _price_rows(catalog: Catalog, provider: str, region: str, shape: _Shape) -> list[PriceRow]:
    """The rows whose sum is the node price; empty when a needed row is missing."""
    rows = [r for r in catalog.prices if r.provider == provider and r.region == region]
    host = [r for r in rows if r.instance_type == shape.price_key]
    if not host:
        return []
    if provider != "gcp" or shape.accelerator is None or shape.tpu_topology is not None:
        return host[:1]
    # GCP bills GPUs apart from the host VM: add the accelerator-only row of that count.
    gpu = [
        r
        for r in rows
        if not r.instance_type
        and r.accelerator == shape.accelerator
        and r.accelerator_count == shape.count
    ]
    return [host[0], gpu[0]] if gpu else []


def _sum(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None), 6)


def _choice(catalog: Catalog, provider: str, region: str, shape: _Shape) -> InstanceChoice:
    rows = _price_rows(catalog, provider, region, shape)
    sources = [r.source for r in rows]
    if shape.source:
        sources.append(shape.source)
    native = f"ml.{shape.instance_type}" if provider == "aws" else shape.instance_type
    is_gpu_on_gcp = provider == "gcp" and shape.accelerator and shape.tpu_topology is None
    return InstanceChoice(
        provider=provider,
        region=region,
        instance_type=native,
        accelerator=shape.accelerator,
        accelerator_count=shape.count,
        vertex_accelerator_type=(
            VERTEX_ACCELERATOR_TYPES.get(shape.accelerator or "") if is_gpu_on_gcp else None
        ),
        tpu_topology=shape.tpu_topology,
        vcpus=shape.vcpus,
        memory_gib=shape.memory_gib,
        price_per_hour=_sum([r.price_per_hour for r in rows]),
        spot_price_per_hour=_sum([r.spot_price_per_hour for r in rows]),
        sources=tuple(sources),
        as_of=min((r.as_of for r in rows), default=catalog.as_of),
    )


def _family(kind: str) -> str:
    return "tpu" if kind.startswith("TPU") else kind.lower()


def _matches(shape: _Shape, accelerator: Accelerator) -> bool:
    if accelerator.kind is None:
        return shape.accelerator is None
    return shape.accelerator == accelerator.kind and shape.count == accelerator.count


def _check_region(catalog: Catalog, provider: str, region: str) -> None:
    known = catalog.regions(provider)
    if region not in known:
        raise SpecError(
            f"resources.region: {region!r} is not in the cloudgd catalog for {provider}",
            hint=f"known {provider} regions: {', '.join(known)}",
        )


def _fits(shape: _Shape, min_vcpus: int | None, min_memory_gib: float | None) -> bool:
    return (min_vcpus is None or shape.vcpus >= min_vcpus) and (
        min_memory_gib is None or shape.memory_gib >= min_memory_gib
    )


def _explicit(
    provider: str, shapes: list[_Shape], instance_type: str, accelerator: Accelerator
) -> _Shape:
    name = instance_type.removeprefix("ml.") if provider == "aws" else instance_type
    named = [s for s in shapes if s.instance_type == name]
    if not named:
        known = sorted({s.instance_type for s in shapes})
        shown = [f"ml.{k}" for k in known] if provider == "aws" else known
        raise SpecError(
            f"resources.instance_type: {instance_type!r} is not in the cloudgd catalog "
            f"for {provider}",
            hint=f"known: {', '.join(shown)}; or leave instance_type out to choose from the "
            "catalog",
        )
    for shape in named:
        if _matches(shape, accelerator):
            return shape
    offers = ", ".join(f"{s.accelerator}:{s.count}" if s.accelerator else "none" for s in named)
    raise SpecError(
        f"resources.instance_type: {instance_type} has {offers} but resources.accelerator "
        f"is {accelerator}",
        hint="set resources.accelerator to match, or leave instance_type out",
    )


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

    An explicit ``instance_type`` wins but must carry the requested accelerator.
    Raises SpecError naming the spec field to fix when nothing fits.
    """
    default_region(provider)  # validates the provider
    catalog = load_catalog()
    _check_region(catalog, provider, region)
    shapes = _shapes(catalog, provider)
    if instance_type:
        shape = _explicit(provider, shapes, instance_type, accelerator)
        if not _fits(shape, min_vcpus, min_memory_gib):
            raise SpecError(
                f"resources.instance_type: {instance_type} has {shape.vcpus:g} vCPUs and "
                f"{shape.memory_gib:g} GiB, below resources.min_vcpus/min_memory_gib",
                hint="choose a larger instance_type or lower the minimums",
            )
        return _choice(catalog, provider, region, shape)
    if accelerator.kind is not None:
        same_kind = [s for s in shapes if s.accelerator == accelerator.kind]
        if not same_kind:
            alt = _ALTERNATIVES.get((provider, _family(accelerator.kind)))
            offered = sorted({f"{s.accelerator}" for s in shapes if s.accelerator})
            raise SpecError(
                f"resources.accelerator: {accelerator.kind} is not offered on {provider} "
                "in the cloudgd catalog",
                hint=alt or f"accelerators on {provider}: {', '.join(offered)}",
            )
    matching = [s for s in shapes if _matches(s, accelerator)]
    if not matching:
        counts = sorted({s.count for s in shapes if s.accelerator == accelerator.kind})
        raise SpecError(
            f"resources.accelerator: no {provider} machine has {accelerator} per node "
            "in the cloudgd catalog",
            hint=f"{accelerator.kind} counts per node on {provider}: "
            + ", ".join(str(c) for c in counts),
        )
    fitting = [s for s in matching if _fits(s, min_vcpus, min_memory_gib)]
    if not fitting:
        raise SpecError(
            "resources.min_vcpus/min_memory_gib: no "
            f"{provider} machine with {accelerator} is that large",
            hint="largest: " + max(matching, key=lambda s: (s.vcpus, s.memory_gib)).label,
        )
    choices = [_choice(catalog, provider, region, s) for s in fitting]
    # Cheapest known price first; unknown prices only when nothing is priced here.
    return min(
        choices,
        key=lambda c: (
            c.price_per_hour is None,
            c.price_per_hour or 0.0,
            c.vcpus,
            c.instance_type,
        ),
    )


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
    for name in [provider] if provider else list(CLOUD_PROVIDERS):
        default_region(name)
        if region and provider:
            _check_region(catalog, name, region)
        elif region and region not in catalog.regions(name):
            continue
        for reg in [region] if region else catalog.regions(name):
            for shape in _shapes(catalog, name):
                if accelerator is not None and shape.accelerator != wanted:
                    continue
                out.append(_choice(catalog, name, reg, shape))
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

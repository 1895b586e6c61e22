"""Whole-job cost and carbon estimates (pure: numbers in, numbers out, no I/O).

An estimate is price per node-hour × nodes × hours, for on-demand and spot
capacity, over the expected run time (from ``limits.expected_runtime`` or a
calibration) and over the worst case (``limits.max_runtime``). Every number comes
with the catalog rows it used and the assumptions behind it.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudgd.cost.budget import billed_price_per_node_hour, capped_runtime
from cloudgd.cost.carbon import DEFAULT_CARBON_SOURCE, CarbonEstimate, estimate_carbon
from cloudgd.cost.catalog import Catalog, load_catalog
from cloudgd.cost.select import InstanceChoice, PriceBasis, choice_for_spec
from cloudgd.cost.throughput import (
    DEFAULT_UTILISATION,
    Calibration,
    Projection,
    project_seconds,
    work_size,
)
from cloudgd.errors import BudgetError
from cloudgd.spec import JobSpec


def _times(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a * b


class PriceTotals(BaseModel):
    """Money for one capacity type (on-demand or spot), USD."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_node_hour: float | None = Field(description="Catalog price per node-hour.")
    per_hour: float | None = Field(description="All nodes, per hour.")
    expected: float | None = Field(description="Over the expected hours.")
    worst_case: float | None = Field(description="Over limits.max_runtime.")


class Estimate(BaseModel):
    """What one job costs and emits on one provider/region, before anything is created."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(description="aws, gcp or azure.")
    region: str = Field(description="Region of the prices and grid factor.")
    instance_type: str = Field(description="Chosen machine (provider-native name).")
    price_basis: PriceBasis = Field(
        description="training (the service's own rate), stand_in (EC2 / Compute Engine "
        "list price in its place) or unknown."
    )
    price_note: str = Field(description="The rate used, in words, or the hint to find one.")
    accelerator: str | None = Field(description="Accelerator per node, None for CPU.")
    accelerator_count: int = Field(description="Accelerators per node.")
    nodes: int = Field(description="Nodes (resources.nodes).")
    currency: Literal["USD"] = Field(default="USD", description="Currency of every amount.")
    capacity: Literal["on_demand", "spot"] = Field(description="What the spec asks for.")
    on_demand: PriceTotals = Field(description="Totals at on-demand prices.")
    spot: PriceTotals = Field(description="Totals at spot prices.")
    expected_hours: float | None = Field(description="Expected run time; None = unknown.")
    expected_hours_from: Literal["spec", "calibration", "unknown"] = Field(
        description="Where expected_hours came from."
    )
    upper_bound_hours: float = Field(description="Billed-time bound: limits.max_runtime.")
    wall_clock_bound_hours: float = Field(
        description="Longest the job can take end to end (scaling.max_wait with spot)."
    )
    expected_total: float | None = Field(description="Expected total for the spec's capacity.")
    upper_bound_total: float | None = Field(description="Worst case for the spec's capacity.")
    time_cap_seconds: int | None = Field(
        description="Cloud-side time cap after limits.max_cost_usd (None: no training rate "
        "or limits.price_per_hour_usd to compute it from)."
    )
    max_cost_usd: float | None = Field(description="limits.max_cost_usd.")
    carbon: CarbonEstimate = Field(description="Expected-hours carbon estimate.")
    projection: Projection | None = Field(description="Calibration scaled to this machine.")
    calibration: Calibration | None = Field(description="The local calibration used, if any.")
    rows_used: tuple[str, ...] = Field(description="Sources of the catalog rows used.")
    assumptions: tuple[str, ...] = Field(description="What the numbers assume.")
    as_of: date = Field(description="Date of the oldest price row used.")


def estimate(
    spec: JobSpec,
    choice: InstanceChoice,
    catalog: Catalog,
    *,
    calibration: Calibration | None = None,
    utilisation: float = DEFAULT_UTILISATION,
    power_utilisation: float = 1.0,
    carbon_source: str = DEFAULT_CARBON_SOURCE,
) -> Estimate:
    """Cost and carbon of ``spec`` on ``choice``.

    ``utilisation`` scales a calibration to the accelerator's peak; it is used
    only when the spec has no ``limits.expected_runtime``. ``power_utilisation``
    is the fraction of TDP the accelerators are assumed to draw.
    """
    nodes = spec.resources.nodes
    assumptions = [f"{choice.provider} {choice.instance_type}: {choice.price_note}"]
    if choice.price_basis == "stand_in" and choice.spot_price_per_hour is not None:
        assumptions.append("a stand-in's spot figure is that service's spot price")
    if spec.limits.price_per_hour_usd is not None:
        assumptions.append(
            f"budget checked at limits.price_per_hour_usd ${spec.limits.price_per_hour_usd:g}"
            "/h per node (your figure), not the catalog"
        )
    projection = None
    if spec.limits.expected_runtime is not None:
        expected: float | None = spec.limits.expected_runtime / 3600.0
        source: Literal["spec", "calibration", "unknown"] = "spec"
    elif calibration is not None:
        work = work_size(spec.trainer, spec.world_size)
        projection = project_seconds(catalog, calibration, work, choice, nodes, utilisation)
        expected = None if projection.seconds is None else projection.seconds / 3600.0
        source = "unknown" if expected is None else "calibration"
        if expected is not None:
            assumptions.append(f"expected hours: {projection.method}")
    else:
        expected, source = None, "unknown"
    upper = spec.limits.max_runtime / 3600.0
    wall = (spec.scaling.max_wait or spec.limits.max_runtime) / 3600.0
    if spec.scaling.spot:
        assumptions.append(
            "spot: time spent waiting for capacity (up to scaling.max_wait) is not billed"
        )
    if spec.scaling.restarts:
        assumptions.append("restarts run inside the same limits.max_runtime cap")

    def totals(per_node_hour: float | None) -> PriceTotals:
        per_hour = _times(per_node_hour, nodes)
        return PriceTotals(
            per_node_hour=per_node_hour,
            per_hour=per_hour,
            expected=_times(per_hour, expected),
            worst_case=_times(per_hour, upper),
        )

    on_demand, spot = totals(choice.price_per_hour), totals(choice.spot_price_per_hour)
    chosen = totals(billed_price_per_node_hour(spec, choice))
    if spec.scaling.spot and choice.spot_price_per_hour is None:
        assumptions.append("spot price unknown: the on-demand price bounds the spot bill")
    try:
        cap: int | None = capped_runtime(spec, choice)
    except BudgetError:
        cap = None
    carbon = estimate_carbon(
        catalog,
        provider=choice.provider,
        region=choice.region,
        accelerator=choice.accelerator,
        accelerators=choice.accelerator_count * nodes,
        hours=expected,
        utilisation=power_utilisation,
        source=carbon_source,
    )
    assumptions.append(
        f"carbon: accelerator power only at {power_utilisation:g} × TDP; host CPU, memory "
        "and network excluded"
    )
    return Estimate(
        provider=choice.provider,
        region=choice.region,
        instance_type=choice.instance_type,
        price_basis=choice.price_basis,
        price_note=choice.price_note,
        accelerator=choice.accelerator,
        accelerator_count=choice.accelerator_count,
        nodes=nodes,
        capacity="spot" if spec.scaling.spot else "on_demand",
        on_demand=on_demand,
        spot=spot,
        expected_hours=expected,
        expected_hours_from=source,
        upper_bound_hours=upper,
        wall_clock_bound_hours=wall,
        expected_total=chosen.expected,
        upper_bound_total=chosen.worst_case,
        time_cap_seconds=cap,
        max_cost_usd=spec.limits.max_cost_usd,
        carbon=carbon,
        projection=projection,
        calibration=calibration,
        rows_used=choice.sources,
        assumptions=tuple(assumptions),
        as_of=choice.as_of,
    )


def estimate_for_spec(spec: JobSpec, provider: str) -> Estimate:
    """The estimate ``plan`` and ``submit --dry-run`` show beside the request.

    Prices the same machine the adapter renders (:func:`choice_for_spec`).
    """
    return estimate(spec, choice_for_spec(spec, provider), load_catalog())

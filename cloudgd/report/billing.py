"""What a run cost and emitted, next to what was estimated before it ran (pure).

The estimate is the one `cloudgd cost`/`plan` shows for the spec
(:func:`cloudgd.cost.estimate.estimate`); the actual cost is the billable time the
provider reports (SageMaker's ``BillableTimeInSeconds``) × the catalog price of the
same machine. Vertex AI and Azure ML report no billable time, so their runs show
the price of the measured run time instead, labelled as such, never as a bill.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudgd import registry
from cloudgd.cost.budget import billed_price_per_node_hour
from cloudgd.cost.carbon import estimate_carbon
from cloudgd.cost.catalog import Catalog
from cloudgd.cost.estimate import estimate
from cloudgd.cost.select import choice_for_spec
from cloudgd.errors import CloudgdError
from cloudgd.spec import JobSpec


@dataclass(frozen=True)
class Billing:
    """Money and carbon of one run; None means unknown, with the reason in ``notes``."""

    provider: str
    instance_type: str | None = None
    region: str | None = None
    nodes: int | None = None
    capacity: str | None = None
    price_per_hour: float | None = None  # all nodes, the spec's capacity type
    estimated_usd: float | None = None
    worst_case_usd: float | None = None
    billable_seconds: int | None = None
    actual_usd: float | None = None
    run_seconds: float | None = None
    run_time_usd: float | None = None
    carbon_kg: float | None = None
    notes: tuple[str, ...] = ()


def _times(price: float | None, seconds: float | None) -> float | None:
    return None if price is None or seconds is None else price * seconds / 3600.0


def price_run(
    spec: JobSpec | None,
    provider: str,
    catalog: Catalog,
    *,
    billable_seconds: int | None,
    run_seconds: float | None,
) -> Billing:
    """Price a run of ``spec`` on ``provider`` (a cloud, or ``local``)."""
    if not registry.is_cloud(provider):
        return Billing(
            provider=provider,
            run_seconds=run_seconds,
            notes=("local run: no cloud bill; the catalog has no power figures for this machine",),
        )
    if spec is None:
        return Billing(
            provider=provider,
            billable_seconds=billable_seconds,
            run_seconds=run_seconds,
            notes=("pass --spec JOB.yaml to price this run from the catalog",),
        )
    notes: list[str] = []
    try:
        choice = choice_for_spec(spec, provider)
    except CloudgdError as exc:
        return Billing(provider=provider, run_seconds=run_seconds, notes=(exc.message,))
    before = estimate(spec, choice, catalog)
    per_node = billed_price_per_node_hour(spec, choice)
    nodes = spec.resources.nodes
    per_hour = None if per_node is None else per_node * nodes
    if per_hour is None:
        notes.append(f"the catalog has no price for {choice.instance_type} in {choice.region}")
    if before.expected_total is None and per_hour is not None:
        notes.append("no estimate before the run: set limits.expected_runtime or use --calibrate")
    if billable_seconds is None:
        notes.append(f"{provider} reports no billable time for this job: run time × price shown")
    hours_seconds = billable_seconds if billable_seconds is not None else run_seconds
    carbon = estimate_carbon(
        catalog,
        provider=provider,
        region=choice.region,
        accelerator=choice.accelerator,
        accelerators=choice.accelerator_count * nodes,
        hours=None if hours_seconds is None else hours_seconds / 3600.0,
    )
    if carbon.kg_co2e is None and carbon.unknown_reason:
        notes.append(f"carbon unknown: {carbon.unknown_reason}")
    notes.append(before.assumptions[0])  # what the catalog's prices are (list, not service)
    return Billing(
        provider=provider,
        instance_type=choice.instance_type,
        region=choice.region,
        nodes=nodes,
        capacity=before.capacity,
        price_per_hour=per_hour,
        estimated_usd=before.expected_total,
        worst_case_usd=before.upper_bound_total,
        billable_seconds=billable_seconds,
        actual_usd=_times(per_hour, billable_seconds),
        run_seconds=run_seconds,
        run_time_usd=_times(per_hour, run_seconds),
        carbon_kg=carbon.kg_co2e,
        notes=tuple(notes),
    )


def price_on_clouds(
    spec: JobSpec, catalog: Catalog, *, run_seconds: float | None
) -> tuple[Billing, ...]:
    """What a local run of ``spec`` would have cost on each cloud's machine for the spec
    (for as long as it ran here: a rough figure, the machines differ)."""
    return tuple(
        price_run(spec, cloud, catalog, billable_seconds=None, run_seconds=run_seconds)
        for cloud in registry.cloud_names()
    )

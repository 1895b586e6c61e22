"""``cloudgd cost job.yaml``: whole-job cost and carbon on every cloud, before launch."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from cloudgd.cli.catalog import basis, describe, money
from cloudgd.cli.options import settings
from cloudgd.cost.carbon import CARBON_SOURCES, DEFAULT_CARBON_SOURCE
from cloudgd.cost.catalog import Catalog, age_warning, load_catalog
from cloudgd.cost.estimate import Estimate, estimate
from cloudgd.cost.select import CLOUD_PROVIDERS, choose_instance
from cloudgd.cost.throughput import DEFAULT_UTILISATION, Calibration
from cloudgd.errors import SpecError
from cloudgd.spec import JobSpec


def load_job(path: Path, sets: tuple[str, ...] = ()) -> JobSpec:
    """The job spec at ``path`` with ``--set a.b=value`` overrides applied (the CLI's loader,
    so errors read the same as ``plan``)."""
    from cloudgd.loader import load_spec

    return load_spec(path, sets, preflight=False).spec


def estimates_for(
    spec: JobSpec,
    catalog: Catalog,
    *,
    provider: str | None,
    region: str | None,
    calibration: Calibration | None,
    utilisation: float,
    carbon_source: str,
) -> tuple[list[Estimate], list[dict[str, str]]]:
    """Estimates for every provider/region asked for, and the ones that cannot run it."""
    done: list[Estimate] = []
    skipped: list[dict[str, str]] = []
    accelerator = spec.resources.parsed_accelerator
    for name in [provider] if provider else list(CLOUD_PROVIDERS):
        regions = [region or spec.resources.region] if provider else catalog.regions(name)
        for reg in [r for r in regions if r] or catalog.regions(name):
            try:
                choice = choose_instance(
                    name,
                    accelerator,
                    reg,
                    # An instance type names one cloud's machine; compare the rest by catalog.
                    instance_type=spec.resources.instance_type if provider else None,
                    min_vcpus=spec.resources.min_vcpus,
                    min_memory_gib=spec.resources.min_memory_gib,
                )
            except SpecError as exc:
                if provider:
                    raise
                skipped.append({"provider": name, "region": reg, "reason": exc.message})
                continue
            done.append(
                estimate(
                    spec,
                    choice,
                    catalog,
                    calibration=calibration,
                    utilisation=utilisation,
                    carbon_source=carbon_source,
                )
            )
    return done, skipped


def _best(estimates: list[Estimate], key: Any) -> int | None:
    known = [(key(e), i) for i, e in enumerate(estimates) if key(e) is not None]
    return min(known)[1] if known else None


def cheapest_index(estimates: list[Estimate]) -> int | None:
    """Lowest expected total, else lowest worst case, for the spec's capacity."""
    best = _best(estimates, lambda e: e.expected_total)
    return best if best is not None else _best(estimates, lambda e: e.upper_bound_total)


def greenest_index(estimates: list[Estimate]) -> int | None:
    """Lowest expected kg CO2e."""
    return _best(estimates, lambda e: e.carbon.kg_co2e)


def duration(hours: float | None) -> str:
    """Hours for people: ``<1s``, ``42s``, ``3m10s``, ``2.5h``; None is unknown."""
    if hours is None:
        return "unknown"
    seconds = hours * 3600
    if seconds < 1:
        return "<1s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{hours:.3g}h"


def _kg(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.3f}"


def _within_budget(spec: JobSpec, e: Estimate) -> str:
    """The budget cell: checked only against a training rate or limits.price_per_hour_usd,
    as submit checks it; a stand-in is never enough."""
    budget, vouched = spec.limits.max_cost_usd, spec.limits.price_per_hour_usd
    if vouched is not None:
        bound: float | None = e.nodes * vouched * e.upper_bound_hours
    elif e.price_basis == "stand_in":
        return "stand-in"
    else:
        bound = e.upper_bound_total
    if bound is None or budget is None:
        return "unknown"
    return "yes" if bound <= budget else "NO"


def _render(estimates: list[Estimate], skipped: list[dict[str, str]], spec: JobSpec) -> None:
    from rich.table import Table

    from cloudgd.cli.output import console

    cheapest, greenest = cheapest_index(estimates), greenest_index(estimates)
    title = (
        f"{spec.name}: {spec.resources.nodes} node(s) × {spec.resources.accelerator}, "
        f"max_runtime {spec.limits.max_runtime / 3600:g} h"
    )
    table = Table(
        title=title,
        caption="USD; * cheapest, ♻ greenest; rate: training = the service's own price, "
        "stand-in = EC2 / Compute Engine price in its place; unknown = not in catalog",
    )
    for name in ("", "provider", "region", "instance", "rate"):
        table.add_column(name)
    for name in ("on-demand/h", "spot/h", "expected on-demand", "expected spot"):
        table.add_column(name, justify="right")
    for name in ("worst on-demand", "worst spot", "hours", "kg CO2e"):
        table.add_column(name, justify="right")
    if spec.limits.max_cost_usd is not None:
        table.add_column(f"≤ ${spec.limits.max_cost_usd:g}")
    for i, e in enumerate(estimates):
        mark = ("*" if i == cheapest else "") + ("♻" if i == greenest else "")
        style = "bold green" if i == cheapest else ("green" if i == greenest else None)
        cells = [
            mark,
            e.provider,
            e.region,
            e.instance_type,
            basis(e.price_basis),
            money(e.on_demand.per_hour),
            money(e.spot.per_hour),
            money(e.on_demand.expected, 2),
            money(e.spot.expected, 2),
            money(e.on_demand.worst_case, 2),
            money(e.spot.worst_case, 2),
            duration(e.expected_hours),
            _kg(e.carbon.kg_co2e),
        ]
        if spec.limits.max_cost_usd is not None:
            cells.append(_within_budget(spec, e))
        table.add_row(*cells, style=style)
    # Off a terminal (a CI log, a file) the table keeps every column whole.
    console().print(table)
    err = console(stderr=True)
    for s in skipped:
        err.print(f"not offered: {s['provider']} {s['region']}: {s['reason']}")
    if estimates:
        first = estimates[0]
        if first.calibration is not None:
            c = first.calibration
            err.print(
                f"calibration: {c.flops_per_sample:.4g} FLOPs/sample, "
                f"{c.samples_per_second:.4g} samples/s on {c.device} ({c.threads} threads), "
                f"model from {c.model_path}"
            )
            if first.projection and first.projection.local_seconds is not None:
                local_hours = first.projection.local_seconds / 3600
                err.print(f"this machine would take {duration(local_hours)} for the same work")
        if first.calibration is None and first.expected_hours is None:
            err.print("expected hours unknown: set limits.expected_runtime or use --calibrate")
        reasons = {e.projection.unknown_reason for e in estimates if e.projection}
        for reason in sorted(r for r in reasons if r):
            err.print(f"expected hours unknown where: {reason}")
        notes = sorted({a for e in estimates for a in e.assumptions[1:]})
        for e in estimates:
            err.print(f"price: {e.provider} {e.region} {e.instance_type}: {e.price_note}")
        for note in notes:
            err.print(f"assumes: {note}")
        if any(e.price_basis == "unknown" for e in estimates):
            err.print("hint: `cloudgd catalog refresh` fetches current prices")


@click.command(name="cost")
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--provider", type=click.Choice(CLOUD_PROVIDERS), help="Only this cloud.")
@click.option("--region", help="Only this region (with --provider; default: spec or catalog).")
@click.option("--calibrate", is_flag=True, help="Run a few real training steps here first.")
@click.option(
    "--utilization",
    type=click.FloatRange(0.01, 1.0),
    default=DEFAULT_UTILISATION,
    show_default=True,
    help="Assumed fraction of accelerator peak FLOP/s reached, for --calibrate.",
)
@click.option(
    "--carbon-source",
    type=click.Choice(sorted(CARBON_SOURCES)),
    default=DEFAULT_CARBON_SOURCE,
    show_default=True,
    help="One source for grid intensity and PUE (never mixed).",
)
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a field.")
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one document on stdout.",
)
def command(
    spec_file: Path,
    provider: str | None,
    region: str | None,
    calibrate: bool,
    utilization: float,
    carbon_source: str,
    sets: tuple[str, ...],
    output: str,
) -> None:
    """Price and carbon of a job on every cloud and region.

    The whole job, on-demand and spot: per hour, expected and worst case, with kg CO2e.
    For a spec with tuning:, each estimate is one trial's (its share of the study budget
    caps it) and the study's totals are trials × those figures.
    """
    spec = study_spec = load_job(spec_file, sets)
    if spec.tuning is not None:
        from cloudgd.tuning.cost import trial_spec

        spec = trial_spec(study_spec)
    catalog = load_catalog()
    warning = age_warning(catalog.as_of, date.today())
    if warning:
        click.echo(f"cloudgd: warning: {warning}", err=True)
    calibration = None
    if calibrate and spec.script is not None:
        from cloudgd.errors import UsageError

        raise UsageError(
            "--calibrate times the built-in trainer's steps; it cannot time your script",
            hint="give limits.expected_runtime (e.g. 20m) for the expected cost of a script job",
        )
    if calibrate:
        from cloudgd.cost.calibrate import calibrate as run_calibration

        click.echo("calibrating: a few real training steps on this machine...", err=True)
        calibration = run_calibration(spec.trainer)
    estimates, skipped = estimates_for(
        spec,
        catalog,
        provider=provider,
        region=region,
        calibration=calibration,
        utilisation=utilization,
        carbon_source=carbon_source,
    )
    if not estimates and skipped:
        raise SpecError(
            f"no cloud in the catalog can run resources.accelerator={spec.resources.accelerator}",
            problems=[f"{s['provider']} {s['region']}: {s['reason']}" for s in skipped],
        )
    if output == "json" or settings().json:
        document = {
            "job": spec.name,
            "catalog_as_of": catalog.as_of.isoformat(),
            "catalog_origin": catalog.origin,
            "warning": warning,
            "cheapest": cheapest_index(estimates),
            "greenest": greenest_index(estimates),
            "estimates": [e.model_dump(mode="json") for e in estimates],
            "not_offered": skipped,
        }
        if study_spec.tuning is not None:
            document["tuning"] = _study_costs(study_spec, estimates)
        click.echo(json.dumps(document, indent=2))
        return
    _render(estimates, skipped, spec)
    click.echo(describe(catalog), err=True)
    if study_spec.tuning is not None:
        for row in _study_costs(study_spec, estimates):
            fits = {True: "within", False: "OVER", None: "no"}[row["within_budget"]]
            click.echo(
                f"tuning on {row['provider']} {row['region']}: {row['trials']} trials × "
                f"worst {money(row['per_trial_worst_case'], 2)} = "
                f"{money(row['upper_bound_total'], 2)} ({fits} budget for the whole study)",
                err=True,
            )


def _study_costs(study: JobSpec, estimates: list[Estimate]) -> list[dict[str, Any]]:
    """trials × per-trial expected and worst case, for each estimate (one trial each)."""
    from cloudgd.tuning.cost import study_cost

    assert study.tuning is not None
    return [
        {
            "provider": e.provider,
            "region": e.region,
            **study_cost(
                study.tuning, e.expected_total, e.upper_bound_total, study.limits.max_cost_usd
            ).model_dump(mode="json"),
        }
        for e in estimates
    ]

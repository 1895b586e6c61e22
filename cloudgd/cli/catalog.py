"""``cloudgd catalog``: what the bundled price catalog knows, filtered."""

from __future__ import annotations

import json
from datetime import date

import click

from cloudgd.cost.catalog import age_warning, load_catalog
from cloudgd.cost.select import CLOUD_PROVIDERS, InstanceChoice, list_offers


def money(value: float | None, digits: int = 4) -> str:
    """A USD amount for tables; unknown stays visibly unknown."""
    if value is None:
        return "unknown"
    if 0 < value < 0.5 * 10**-digits:
        return f"<${10**-digits:.{digits}f}"
    return f"${value:,.{digits}f}"


def _row(choice: InstanceChoice) -> list[str]:
    acc = f"{choice.accelerator}:{choice.accelerator_count}" if choice.accelerator else "none"
    if choice.tpu_topology:
        acc += f" ({choice.tpu_topology})"
    return [
        choice.provider,
        choice.region,
        choice.instance_type,
        acc,
        f"{choice.vcpus:g}",
        f"{choice.memory_gib:g}",
        money(choice.price_per_hour),
        money(choice.spot_price_per_hour),
    ]


def render_table(offers: list[InstanceChoice]) -> None:
    """Print offers as a rich table on stdout."""
    from rich.table import Table

    from cloudgd.cli.output import console

    table = Table(title="cloudgd catalog (USD per node-hour, list prices)")
    for name in ("provider", "region", "instance", "accelerator", "vCPUs", "GiB"):
        table.add_column(name)
    table.add_column("on-demand $/h", justify="right")
    table.add_column("spot $/h", justify="right")
    for choice in offers:
        table.add_row(*_row(choice))
    console().print(table)  # whole columns off a terminal


@click.command(name="catalog")
@click.option("--provider", type=click.Choice(CLOUD_PROVIDERS), help="Only this cloud.")
@click.option("--region", help="Only this region.")
@click.option("--accelerator", help="Only this accelerator (a100, t4, tpu-v5e, none).")
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one document on stdout.",
)
def command(provider: str | None, region: str | None, accelerator: str | None, output: str) -> None:
    """List the machines and prices the catalog knows.

    Prices are the bundled, dated list prices; "unknown" means the catalog has no row.
    """
    catalog = load_catalog()
    warning = age_warning(catalog.as_of, date.today())
    if warning:
        click.echo(f"cloudgd: warning: {warning}", err=True)
    offers = list_offers(provider, region, accelerator)
    if output == "json":
        document = {
            "schema_version": catalog.schema_version,
            "as_of": catalog.as_of.isoformat(),
            "warning": warning,
            "offers": [o.model_dump(mode="json") for o in offers],
        }
        click.echo(json.dumps(document, indent=2))
        return
    if not offers:
        click.echo("no catalog entries match those filters", err=True)
        return
    render_table(offers)
    click.echo(
        f"catalog as of {catalog.as_of.isoformat()} (schema {catalog.schema_version}); "
        "AWS rows are EC2 prices, GCP rows Compute Engine prices: see "
        "cloudgd/data/PROVENANCE.md",
        err=True,
    )

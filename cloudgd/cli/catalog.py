"""``cloudgd catalog``: what the price catalog knows, filtered; ``catalog refresh`` rebuilds
it from the vendors' public price lists into ``$CLOUDGD_HOME/catalog``."""

from __future__ import annotations

import json
from datetime import date

import click

from cloudgd.cli.choices import CloudChoice
from cloudgd.cost.catalog import Catalog, age_warning, load_catalog
from cloudgd.cost.select import InstanceChoice, list_offers

_BASIS = {"training": "training", "stand_in": "stand-in", "unknown": "unknown"}


def money(value: float | None, digits: int = 4) -> str:
    """A USD amount for tables; unknown stays visibly unknown."""
    if value is None:
        return "unknown"
    if 0 < value < 0.5 * 10**-digits:
        return f"<${10**-digits:.{digits}f}"
    return f"${value:,.{digits}f}"


def basis(value: str) -> str:
    """A price basis for people: ``training``, ``stand-in`` or ``unknown``."""
    return _BASIS.get(value, value)


def describe(catalog: Catalog) -> str:
    """Which catalog is in use and its date: the refreshed one names its directory."""
    where = "bundled" if catalog.origin == "bundled" else f"refreshed, {catalog.origin}"
    return f"catalog as of {catalog.as_of.isoformat()} ({where})"


def _size(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _row(choice: InstanceChoice) -> list[str]:
    acc = f"{choice.accelerator}:{choice.accelerator_count}" if choice.accelerator else "none"
    if choice.tpu_topology:
        acc += f" ({choice.tpu_topology})"
    return [
        choice.provider,
        choice.region,
        choice.instance_type,
        acc,
        _size(choice.vcpus),
        _size(choice.memory_gib),
        money(choice.price_per_hour),
        money(choice.spot_price_per_hour),
        basis(choice.price_basis),
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
    table.add_column("rate")
    for choice in offers:
        table.add_row(*_row(choice))
    console().print(table)  # whole columns off a terminal


@click.group(name="catalog", invoke_without_command=True)
@click.option("--provider", type=CloudChoice(), help="Only this cloud.")
@click.option("--region", help="Only this region.")
@click.option("--accelerator", help="Only this accelerator (a100, t4, tpu-v5e, none).")
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one document on stdout.",
)
@click.pass_context
def command(
    ctx: click.Context,
    provider: str | None,
    region: str | None,
    accelerator: str | None,
    output: str,
) -> None:
    """List the machines and prices the catalog knows.

    Each price is the service's own training rate, a labelled stand-in (EC2 /
    Compute Engine list price) or unknown. `cloudgd catalog refresh` fetches
    current prices; a refreshed catalog wins over the bundled one.
    """
    if ctx.invoked_subcommand is not None:
        return
    catalog = load_catalog()
    warning = age_warning(catalog.as_of, date.today())
    if warning:
        click.echo(f"cloudgd: warning: {warning}", err=True)
    offers = list_offers(provider, region, accelerator)
    if output == "json":
        document = {
            "schema_version": catalog.schema_version,
            "as_of": catalog.as_of.isoformat(),
            "origin": catalog.origin,
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
        f"{describe(catalog)}, schema {catalog.schema_version}; rate: training = the "
        "service's own training price, stand-in = EC2 / Compute Engine list price in its "
        "place (see cloudgd/data/PROVENANCE.md)",
        err=True,
    )


@command.command(name="refresh")
@click.option(
    "--provider",
    "providers",
    type=CloudChoice(),
    multiple=True,
    help="Only these clouds (repeatable; default: all, gcp only with an API key).",
)
@click.option("--region", "regions", multiple=True, help="Also read this region (repeatable).")
@click.option(
    "--gcp-api-key",
    envvar="GOOGLE_API_KEY",
    help="API key for the Cloud Billing Catalog API (default: $GOOGLE_API_KEY).",
)
@click.option(
    "--price-api",
    "mirrors",
    multiple=True,
    metavar="PROVIDER=URL",
    hidden=True,
    help="Read PROVIDER's price API from a mirror at URL (same paths as the vendor's).",
)
def refresh_command(
    providers: tuple[str, ...],
    regions: tuple[str, ...],
    gcp_api_key: str | None,
    mirrors: tuple[str, ...],
) -> None:
    """Rebuild the price catalog from the vendors' public price lists.

    AWS Price List bulk files (SageMaker training, EC2), the Azure Retail Prices API
    and Google's Cloud Billing Catalog API (needs --gcp-api-key or GOOGLE_API_KEY).
    Reads the regions the catalog has plus any --region; writes $CLOUDGD_HOME/catalog,
    which then wins over the bundled catalog. Progress goes to stderr; an interrupted
    refresh keeps the previous catalog.
    """
    from cloudgd import registry
    from cloudgd.cost.catalog import refreshed_dir
    from cloudgd.cost.price_feed import http_fetch
    from cloudgd.cost.refresh import default_providers, refresh
    from cloudgd.errors import UsageError

    def progress(line: str) -> None:
        click.echo(line, err=True)

    chosen = providers or default_providers(gcp_api_key, progress)
    base_urls: dict[str, str] = {}
    for mirror in mirrors:
        name, sep, url = mirror.partition("=")
        if not sep or name not in registry.cloud_names() or not url:
            raise UsageError(f"--price-api {mirror!r}: expected PROVIDER=URL")
        base_urls[name] = url
    target = refreshed_dir()
    counts = refresh(
        load_catalog(),
        target,
        providers=chosen,
        regions=regions,
        fetch=http_fetch(progress),
        progress=progress,
        today=date.today(),
        gcp_api_key=gcp_api_key or None,
        base_urls=base_urls,
    )
    catalog = load_catalog()
    written = ", ".join(f"{name} {n} rows" for name, n in counts.items())
    click.echo(f"refreshed: {written}; {describe(catalog)}")

"""``cloudgd servers list``: recorded rehearsal backends and whether each still runs."""

from __future__ import annotations

import click

from cloudgd.cli.options import output_option


@click.command(name="list")
@output_option
def command() -> None:
    """List the local rehearsal servers cloudgd started."""
    from cloudgd import servers
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json

    rows = [servers.describe(name) for name in servers.names()]
    if settings().json:
        emit_json({"servers": rows})
        return
    if not rows:
        click.echo("no local servers recorded")
        return
    for row in rows:
        state = "running" if row["running"] else "stopped (stale record)"
        click.echo(f"{row['name']}\t{state}\tpid {row['pid']}\t{row['url']}")

"""``cloudgd list``: jobs cloudgd created on one provider, newest first."""

from __future__ import annotations

import click

from cloudgd.cli.options import backend_options, output_option


@click.command()
@output_option
@click.option(
    "--provider",
    "-p",
    default="local",
    show_default=True,
    metavar="NAME",
    help="Which provider's jobs to list.",
)
@click.option("--prefix", default=None, metavar="TEXT", help="Only jobs whose name starts so.")
@backend_options
def command(provider: str, prefix: str | None, backend: str, endpoint: str | None) -> None:
    """List jobs cloudgd created, newest first."""
    from cloudgd import registry
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console, state_text, status_document

    jobs = registry.create(provider, backend=backend, endpoint=endpoint).list(prefix)
    if settings().json:
        emit_json({"provider": provider, "jobs": [status_document(job) for job in jobs]})
        return
    out = human_console()
    if not jobs:
        out.print(f"no {provider} jobs" + (f" starting with {prefix!r}" if prefix else ""))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "STATE", "CREATED", "HANDLE"):
        table.add_column(column, no_wrap=column == "HANDLE")
    for job in jobs:
        created = job.created_at.isoformat(timespec="seconds") if job.created_at else "-"
        table.add_row(escape(job.name), state_text(job.state), created, escape(job.handle))
    out.print(table)

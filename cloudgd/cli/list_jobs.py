"""``cloudgd list``: jobs cloudgd created on one provider, newest first."""

from __future__ import annotations

import click

from cloudgd.cli.options import backend_options, output_option
from cloudgd.registry import LOCAL

# JobState's values, written out so `cloudgd --help` need not import pydantic.
STATES = (
    "PENDING",
    "STARTING",
    "RUNNING",
    "STOPPING",
    "SUCCEEDED",
    "FAILED",
    "CANCELLED",
    "UNKNOWN",
)


@click.command()
@output_option
@click.option(
    "--provider",
    "-p",
    default=LOCAL,
    show_default=True,
    metavar="NAME",
    help="Which provider's jobs to list.",
)
@click.option("--prefix", default=None, metavar="TEXT", help="Only jobs whose name starts so.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES, case_sensitive=False),
    help="Only jobs in this state (repeatable: --state RUNNING --state PENDING).",
)
@click.option(
    "--since",
    metavar="WHEN",
    default=None,
    help="Only jobs created since: a duration back from now (6h, 7d) or a date (2026-01-31).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, metavar="N", help="At most N (newest)."
)
@backend_options
def command(
    provider: str,
    prefix: str | None,
    states: tuple[str, ...],
    since: str | None,
    limit: int | None,
    backend: str,
    endpoint: str | None,
) -> None:
    """List jobs cloudgd created, newest first."""
    from cloudgd import runner
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console, state_text, status_document
    from cloudgd.plan import JobState

    jobs = runner.list_jobs(
        provider,
        backend=backend,
        endpoint=endpoint,
        prefix=prefix,
        states=[JobState(state.upper()) for state in states],
        since=runner.parse_since(since) if since else None,
        limit=limit,
    )
    if settings().json:
        emit_json({"provider": provider, "jobs": [status_document(job) for job in jobs]})
        return
    out = human_console()
    if not jobs:
        if states or since:
            out.print(f"no {provider} jobs match those filters")
        else:
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

"""``cloudgd status HANDLE``: a job's current state, from the handle alone."""

from __future__ import annotations

import click

from cloudgd.cli.options import handle_argument, output_option


@click.command()
@output_option
@handle_argument
def command(handle: str) -> None:
    """Show a job's state, times, exit code and metrics."""
    from cloudgd.cli.handles import open_handle
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console, render_status, status_document

    provider, parsed = open_handle(handle)
    status = provider.status(parsed)
    if settings().json:
        emit_json(status_document(status))
    else:
        render_status(human_console(), status)

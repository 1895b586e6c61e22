"""``cloudgd cancel HANDLE``: stop a job (a no-op for one that already ended)."""

from __future__ import annotations

import click

from cloudgd.cli.options import handle_argument, output_option


@click.command()
@output_option
@handle_argument
def command(handle: str) -> None:
    """Stop a job; a no-op for a job that already ended."""
    from cloudgd.cli.handles import open_handle
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console, note, render_status, status_document

    provider, parsed = open_handle(handle)
    status = provider.cancel(parsed)
    if settings().json:
        emit_json(status_document(status))
    else:
        render_status(human_console(), status)
    if status.state.terminal and status.state.value != "CANCELLED":
        note(f"{status.name} had already ended ({status.state.value}); nothing to cancel")

"""``cloudgd logs HANDLE [--follow]``: print a job's log lines."""

from __future__ import annotations

import click

from cloudgd.cli.options import handle_argument


@click.command()
@handle_argument
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
def command(handle: str, follow: bool) -> None:
    """Print a job's logs; --follow streams until it ends."""
    import sys

    from cloudgd.cli.handles import open_handle

    provider, parsed = open_handle(handle)
    if follow:
        from cloudgd.cli.follow import follow_job, planned_epochs
        from cloudgd.cli.options import settings

        epochs = planned_epochs(provider.status(parsed))
        follow_job(provider, parsed, total_epochs=epochs, to_stderr=settings().json)
        return
    for line in provider.logs(parsed, follow=False):
        sys.stdout.write(line.rstrip("\n") + "\n")
    sys.stdout.flush()

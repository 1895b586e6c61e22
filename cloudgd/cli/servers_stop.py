"""``cloudgd servers stop [BACKEND]``: stop one rehearsal server, or all of them.

A server is signalled only while its recorded pid is still that server (start
time and command line checked); a stale record is just removed.
"""

from __future__ import annotations

import click

from cloudgd.cli.options import output_option


@click.command(name="stop")
@click.argument("backend", required=False)
@output_option
def command(backend: str | None) -> None:
    """Stop BACKEND's local server (moto, gcp-fake, azure-fake), or every one."""
    from cloudgd import servers
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json
    from cloudgd.errors import UsageError

    known = servers.names()
    if backend is not None and backend not in known:
        raise UsageError(
            f"no local server named {backend!r}",
            hint=f"recorded: {', '.join(known)}" if known else "none is recorded",
        )
    stopped = {name: servers.stop(name) for name in ([backend] if backend else known)}
    if settings().json:
        emit_json({"stopped": [n for n, done in stopped.items() if done]})
        return
    for name, done in stopped.items():
        click.echo(f"{name}: {'stopped' if done else 'was not running (record removed)'}")

"""``cloudgd servers``: the local rehearsal backends (moto, fake Vertex, fake Azure ML).

A rehearsal starts its backend detached so later commands can follow the job;
``list`` shows what is recorded in ``$CLOUDGD_HOME/servers`` and ``stop`` ends them.
The subcommands live one per module (``servers_list``, ``servers_stop``).
"""

from __future__ import annotations

import click

from cloudgd.cli.servers_list import command as list_command
from cloudgd.cli.servers_stop import command as stop_command


@click.group(name="servers")
def command() -> None:
    """Local rehearsal backends started by --backend moto/fake: list and stop them."""


command.add_command(list_command)
command.add_command(stop_command)

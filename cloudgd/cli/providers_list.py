"""``cloudgd providers``: built-in and plug-in providers, and what each needs installed."""

from __future__ import annotations

import click

from cloudgd.cli.options import output_option


@click.command()
@output_option
def command() -> None:
    """List providers and what each needs installed."""
    from cloudgd import registry
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console

    rows = []
    for name, info in registry.available().items():
        missing = info.missing_modules()
        rows.append(
            {
                "name": name,
                "builtin": name in registry.BUILTINS,
                "installed": not missing,
                "missing": missing,
                "install": info.pip_command if missing else None,
                "description": info.description,
            }
        )
    if settings().json:
        emit_json({"providers": rows})
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "KIND", "STATUS", "DESCRIPTION"):
        table.add_column(column)
    for row in rows:
        status = (
            "[green]ready[/]"
            if row["installed"]
            else f"[yellow]not installed — {escape(str(row['install'] or 'missing modules'))}[/]"
        )
        kind = "built-in" if row["builtin"] else "plug-in"
        table.add_row(str(row["name"]), kind, status, escape(str(row["description"])))
    human_console().print(table)

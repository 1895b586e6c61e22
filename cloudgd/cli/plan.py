"""``cloudgd plan FILE --provider P``: show the exact request, create nothing."""

from __future__ import annotations

import click

from cloudgd.cli.options import backend_options, planning_options


@click.command()
@planning_options
@backend_options
@click.option(
    "--out",
    type=click.Path(),
    metavar="FILE",
    help="Also write the plan as byte-stable JSON to FILE (e.g. plan.json).",
)
def command(
    file: str,
    provider: str,
    overrides: tuple[str, ...],
    idempotency_key: str | None,
    backend: str,
    endpoint: str | None,
    out: str | None,
) -> None:
    """Show the exact provider request; create nothing."""
    from cloudgd import runner
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import human_console, note, render_plan
    from cloudgd.cli.planning import warn_budget

    planned = runner.plan(
        file,
        provider,
        overrides=overrides,
        idempotency_key=idempotency_key,
        backend=backend,
        endpoint=endpoint,
    )
    for line in planned.loaded.notes:
        note(f"{planned.loaded.source}: {line}")
    shown = planned.shown
    text = shown.to_json()
    if out:
        from cloudgd.cli.outfile import write_user_file

        write_user_file(out, text)
    if settings().json:
        click.echo(text, nl=False)
    else:
        render_plan(human_console(), shown)
    warn_budget(planned)
    if out:
        note(f"wrote {out}")

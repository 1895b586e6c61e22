"""``cloudgd validate FILE...``: check job specs without planning anything."""

from __future__ import annotations

import click

from cloudgd.cli.options import output_option, set_option


@click.command()
@output_option
@click.argument(
    "files", nargs=-1, required=True, metavar="FILE...", type=click.Path(allow_dash=True)
)
@set_option
def command(files: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Check job specs and report every problem.

    One line per problem, naming the file and field; exit 2 if any file is invalid.
    """
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, note
    from cloudgd.errors import SpecError
    from cloudgd.loader import load_spec

    results: list[dict[str, object]] = []
    problems: list[str] = []
    hint: str | None = None
    for file in files:
        try:
            loaded = load_spec(file, overrides)
        except SpecError as error:
            problems += error.lines()
            hint = hint or error.hint
            results.append({"file": file, "valid": False, "problems": error.lines()})
            continue
        spec = loaded.spec
        for line in loaded.notes:
            note(f"{loaded.source}: {line}")
        results.append({"file": file, "valid": True, "name": spec.name, "problems": []})
        if not settings().json:
            trainer = spec.trainer
            click.echo(
                f"{loaded.source}: ok ({spec.name}: {trainer.model.kind} on {trainer.data.source}, "
                f"{trainer.epochs} epochs, {spec.resources.nodes} node(s) x "
                f"{spec.resources.accelerator})"
            )
    if settings().json:
        emit_json({"valid": not problems, "files": results})
    if problems:
        raise SpecError(problems[0], hint=hint, problems=problems)

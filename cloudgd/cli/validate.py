"""``cloudgd validate FILE...``: check job specs without planning anything."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import click

from cloudgd.cli.options import output_option, set_option

if TYPE_CHECKING:
    from cloudgd.spec import JobSpec


def precision_hints(spec: JobSpec) -> list[str]:
    """Suggestions (never changes): bf16 where the accelerator has bf16 tensor cores
    (a bf16 figure in cloudgd/data/accelerators.csv) and the trainer runs fp32."""
    from cloudgd.cost.catalog import load_catalog

    kind = spec.resources.parsed_accelerator.kind
    if kind is None or spec.script is not None or spec.trainer.precision != "fp32":
        return []
    row = load_catalog().hardware(kind)
    if row is None or row.bf16_tflops_dense is None:
        return []
    return [
        f"{kind} supports bf16 ({row.bf16_tflops_dense:g} TFLOPS dense): "
        "trainer.precision: bf16 usually trains faster at the same accuracy"
    ]


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
        hints = precision_hints(spec)
        results.append(
            {"file": file, "valid": True, "name": spec.name, "problems": [], "hints": hints}
        )
        if not settings().json:
            trainer = spec.trainer
            what = f"{trainer.model.kind} on {trainer.data.source}, {trainer.epochs} epochs"
            if spec.script is not None:
                what = "script " + shlex.join(["python", *spec.script.command])
            click.echo(
                f"{loaded.source}: ok ({spec.name}: {what}, {spec.resources.nodes} node(s) x "
                f"{spec.resources.accelerator})"
            )
            for line in hints:
                click.echo(f"{loaded.source}: hint: {line}")
    if settings().json:
        emit_json({"valid": not problems, "files": results})
    if problems:
        raise SpecError(problems[0], hint=hint, problems=problems)

"""``cloudgd init [PATH]``: write a commented example job spec."""

from __future__ import annotations

import click

STDOUT = "-"


def template_text() -> str:
    """The commented example job.yaml shipped with cloudgd."""
    from importlib.resources import files

    return files("cloudgd").joinpath("templates/job.yaml").read_text(encoding="utf-8")


@click.command()
@click.argument("path", default="job.yaml", metavar="[PATH]", type=click.Path(allow_dash=True))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.option(
    "--script",
    "script",
    metavar="FILE",
    default=None,
    help="Write a spec that runs your own training script FILE (docs/scripts.md).",
)
def command(path: str, force: bool, script: str | None) -> None:
    """Write a commented example job.yaml to start from.

    PATH defaults to ./job.yaml; a directory gets job.yaml inside; - prints it.
    With --script FILE the spec runs your own script instead of the built-in trainer.
    """
    from pathlib import Path

    from cloudgd.cli.output import note
    from cloudgd.errors import UsageError

    target = Path("job.yaml" if path == STDOUT else path)
    if target.is_dir():
        target = target / "job.yaml"
    if script is not None:
        from cloudgd.script_init import script_spec_text

        text = script_spec_text(Path(script), target)
    else:
        text = template_text()
    if path == STDOUT:
        click.echo(text, nl=False)
        return
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", hint="pass --force to overwrite it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror or error}") from None
    note(f"wrote {target}")
    note(f"next: cloudgd validate {target} && cloudgd plan {target} --provider local")

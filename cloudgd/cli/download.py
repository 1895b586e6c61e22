"""``cloudgd download HANDLE [--dest DIR]``: a job's model, metrics and outputs, here."""

from __future__ import annotations

import click

from cloudgd.cli.options import handle_argument, output_option


@click.command()
@output_option
@handle_argument
@click.option(
    "--dest",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Folder to write model/ and output/ into (default: ./<job name>).",
)
def command(handle: str, dest: str | None) -> None:
    """Download a job's model, metrics and outputs.

    The model goes to DIR/model; metrics.jsonl, summary.json and the other outputs go
    to DIR/output. Works for local runs, rehearsals (--run-local), SageMaker jobs (from
    S3 once the job has ended), Vertex AI jobs (Cloud Storage) and Azure ML jobs (blob).
    Prints each file on stderr as it lands, then the folder on stdout. A model/ or
    output/ folder already in DIR is never overwritten.
    """
    from cloudgd import runner
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, note
    from cloudgd.download import size_text

    def progress(name: str, size: int) -> None:
        note(f"  {name}  {size_text(size)}")

    provider, parsed = runner.open_handle(handle)
    folder, files = runner.download(provider, parsed, dest, progress=progress)
    total = sum(path.stat().st_size for path in files)
    note(f"downloaded {len(files)} file(s), {size_text(total)}, to {folder}")
    if settings().json:
        emit_json(
            {
                "handle": str(parsed),
                "dest": str(folder),
                "files": [str(path.relative_to(folder)) for path in files],
            }
        )
    else:
        click.echo(str(folder))

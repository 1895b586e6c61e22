"""``cloudgd data upload PATH URI``: put local data where a job reads it.

A rehearsal reads its input through the same cloud path as the real job (an
``s3://`` channel on moto, ``gs://`` on the fake GCS, a blob on the fake Azure
store), and a rehearsal whose input is missing fails as the cloud job would. This
command fills that path; ``submit --data-from PATH`` does the same for the spec's
``trainer.data.uri`` just before submitting. Each provider plugs in with
``upload_data(path, uri) -> list[str]`` (the URIs written).
"""

from __future__ import annotations

from pathlib import Path

import click

from cloudgd.cli.options import backend_options
from cloudgd.datafiles import upload
from cloudgd.errors import UsageError


def provider_for(uri: str) -> str:
    """The provider whose storage ``uri`` names, by its scheme (``Provider.uri_schemes``);
    UsageError when no provider declares that scheme."""
    from cloudgd import registry

    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    found = registry.provider_for_scheme(scheme) if scheme else None
    if found is None:
        known = ", ".join(f"{s}://" for s in registry.uri_schemes())
        raise UsageError(
            f"URI: cannot tell the cloud of {uri!r} from its scheme",
            hint=f"use one of {known}, or name it with --provider",
        )
    return found


@click.group(name="data")
def command() -> None:
    """Job data in cloud storage, or in the rehearsal backends' stand-ins for it."""


@command.command(name="upload")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.argument("uri")
@click.option(
    "--provider",
    "-p",
    default=None,
    metavar="NAME",
    help="aws, gcp or azure (default: from the URI's scheme).",
)
@backend_options
def upload_command(
    path: Path, uri: str, provider: str | None, backend: str, endpoint: str | None
) -> None:
    """Upload a file or a directory to URI; print each object written.

    \b
    cloudgd data upload data/train.csv s3://cloudgd-rehearsal/data/ --backend moto
    cloudgd submit job.yaml -p aws --backend moto --run-local --data-from data/train.csv
    """
    from cloudgd import registry
    from cloudgd.cli.output import note
    from cloudgd.tfconfig import load_user_settings

    chosen = registry.create(provider or provider_for(uri), backend=backend, endpoint=endpoint)
    # Where to upload, when the URI leaves it open (a GCP project, an Azure ML workspace):
    # the user config, as `list` and planning read it.
    chosen.user_settings = load_user_settings().get(chosen.name, {})
    written = upload(chosen, path, uri)
    where = "" if backend == "cloud" else f" ({backend})"
    note(f"uploaded {len(written)} file(s) to {uri}{where}")
    for item in written:
        click.echo(item)

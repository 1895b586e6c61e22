"""A rehearsal's Cloud Storage inputs must exist, as they must when Vertex runs the job.

The plan names each input channel and its ``gs://`` URI (``summary.inputs``). On the
fake backend, submit checks each one against the fake's store before creating the
job, and fails naming the channel and URI; ``upload_input`` puts a local file there
(the provider-side half of a ``cloudgd data upload``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cloudgd.errors import SpecError

FIELD = {"train": "trainer.data.uri"}


def missing_inputs(api: Any, inputs: Mapping[str, str], project: str) -> list[tuple[str, str]]:
    """(channel, uri) of every ``gs://`` input that has no object in the store."""
    return [
        (channel, uri)
        for channel, uri in sorted(inputs.items())
        if uri.startswith("gs://") and not api.exists(uri, project)
    ]


def check_inputs(
    api: Any, inputs: Mapping[str, str], project: str, endpoint: str, *, script: bool = False
) -> None:
    """Raise SpecError for the first input channel whose data is not in the store
    (``script``: the channels are a script job's ``script.inputs``)."""
    missing = missing_inputs(api, inputs, project)
    if missing:
        channel, uri = missing[0]
        field = f"script.inputs.{channel}" if script else FIELD.get(channel, channel)
        raise SpecError(
            f"{field}: input channel {channel!r} reads {uri}, which does "
            f"not exist in the rehearsal's Cloud Storage ({endpoint}); the Vertex job would "
            "fail reading it",
            hint=f"upload the data there first (e.g. google-cloud-storage with "
            f"STORAGE_EMULATOR_HOST={endpoint}), or point {field} at an object that exists",
        )


def upload_path(api: Any, source: Path, uri: str, project: str) -> list[str]:
    """Put a local file or directory at a ``gs://`` URI; the URIs written."""
    from cloudgd.datafiles import upload_targets

    if not uri.startswith("gs://"):
        raise SpecError(f"URI: gcp uploads go to gs://bucket/path, not {uri!r}")
    written = []
    for path, target in upload_targets(source, uri):
        upload_input(api, path, target, project)
        written.append(target)
    return written


def upload_input(api: Any, source: Path, uri: str, project: str) -> None:
    """Copy a local file to ``gs://...`` in the backend ``api`` talks to (bucket created on
    the fake)."""
    bucket = uri.removeprefix("gs://").split("/")[0]
    api.ensure_bucket(bucket, project)
    target = uri.rstrip("/") + "/" + source.name if uri.endswith("/") else uri
    api.upload(str(source), target, None, project)


def download_input(api: Any, uri: str, dest: Path, project: str) -> Path:
    """A local copy of a ``gs://`` input as the container's ``/gcs`` mount shows it: an
    object becomes the file ``dest/<name>``, a prefix the directory ``dest``."""
    _, _, key = uri.removeprefix("gs://").partition("/")
    dest.mkdir(parents=True, exist_ok=True)
    if key and not key.endswith("/"):
        name = key.rsplit("/", 1)[-1]
        if api.download_files(uri[: len(uri) - len(name)], (name,), dest, project):
            return dest / name
    api.download_tree(uri if uri.endswith("/") else uri + "/", dest, project)
    return dest


def download_inputs(
    api: Any, inputs: Mapping[str, str], dest: Path, project: str
) -> dict[str, str]:
    """``--run-local``: each ``gs://`` input copied from the fake's Cloud Storage to
    ``dest/<channel>``; channel -> the local file or directory."""
    return {
        channel: str(download_input(api, uri, dest / channel, project))
        for channel, uri in sorted(inputs.items())
        if uri.startswith("gs://")
    }

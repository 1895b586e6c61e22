"""A rehearsal's blob inputs must exist, as they must when Azure ML mounts them.

The plan names each input channel and its URI (``summary.inputs``). On the fake
backend, submit checks every ``azureml://datastores/...`` input against the fake's
blob store before creating the job, and fails naming the channel and URI;
``AzureApi.upload_input`` puts a local file there (the provider-side half of a
``cloudgd data upload``). Data assets (``azureml:name:version``) and plain https://
URLs are not checked: the fake registers no data assets and serves one account.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cloudgd.errors import SpecError

FIELD = {"train": "trainer.data.uri"}
DATASTORE_PREFIX = "azureml://datastores/"


def missing_inputs(client: Any, inputs: Mapping[str, str]) -> list[tuple[str, str]]:
    """(channel, uri) of every datastore input with no blob at or under its path."""
    return [
        (channel, uri)
        for channel, uri in sorted(inputs.items())
        if uri.startswith(DATASTORE_PREFIX) and not client.input_exists(uri)
    ]


def check_inputs(
    client: Any, inputs: Mapping[str, str], endpoint: str, *, script: bool = False
) -> None:
    """Raise SpecError for the first input channel whose data is not in the store
    (``script``: the channels are a script job's ``script.inputs``)."""
    missing = missing_inputs(client, inputs)
    if missing:
        channel, uri = missing[0]
        field = f"script.inputs.{channel}" if script else FIELD.get(channel, channel)
        raise SpecError(
            f"{field}: input channel {channel!r} reads {uri}, which does not exist in the "
            f"rehearsal's blob store ({endpoint}); the Azure ML job would fail mounting it",
            hint=f"upload the data there first, or point {field} at a path that exists",
        )


def upload_path(client: Any, source: Path, uri: str) -> list[str]:
    """Put a local file or directory at an ``azureml://datastores/...`` URI; the URIs
    written."""
    from cloudgd.datafiles import upload_targets

    if not uri.startswith(DATASTORE_PREFIX):
        raise SpecError(f"URI: azure uploads go to {DATASTORE_PREFIX}<name>/paths/..., not {uri!r}")
    written = []
    for path, target in upload_targets(source, uri):
        client.upload_input(path, target)
        written.append(target)
    return written


def download_inputs(client: Any, inputs: Mapping[str, str], dest: Path) -> dict[str, str]:
    """``--run-local``: each datastore input's folder copied from the fake's blob store to
    ``dest/<channel>``, as Azure ML mounts or downloads it for ``${{inputs.<channel>}}``;
    channel -> the local file the input names (or the folder). Data assets and https://
    inputs are left out: the fake cannot serve them."""
    local = {}
    for channel, uri in sorted(inputs.items()):
        if not uri.startswith(DATASTORE_PREFIX):
            continue
        folder = uri if uri.endswith("/") else uri.rsplit("/", 1)[0] + "/"  # what render mounts
        target = dest / channel
        client.download_input(folder, target)
        named = target / uri.rstrip("/").rsplit("/", 1)[-1]
        local[channel] = str(named if not uri.endswith("/") and named.is_file() else target)
    return local

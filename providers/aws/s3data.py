"""S3 input data for SageMaker rehearsals: does a channel's data exist, fetch it, put it there.

SageMaker fails a training job at start when an input channel's ``S3Uri`` matches no
object; a rehearsal against moto must do the same, and needs a way to put local data
in the rehearsal bucket first (``cloudgd data upload``). The S3 client comes from
:mod:`providers.aws.client` (the only module that imports boto3); this module only
calls it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cloudgd.bundle import SCRIPT_ENTRY_NAME
from cloudgd.errors import SpecError
from providers.aws.client import Connection, ensure_bucket, sdk_errors, split_s3
from providers.aws.script_mode import CODE_CHANNEL

MAX_PAGES = 100  # of 1000 keys each: far past what a rehearsal reads


def input_channels(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(channel name, S3 URI) of every data channel of a CreateTrainingJob request or of a
    tuning job's TrainingJobDefinition (the code channel is the bundle, not data)."""
    found = []
    for channel in request.get("InputDataConfig", []):
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source and channel["ChannelName"] != CODE_CHANNEL:
            found.append((channel["ChannelName"], source["S3Uri"]))
    return found


def code_channel(request: dict[str, Any]) -> str | None:
    """The S3 URI of the ``code`` channel (the bundle SageMaker puts in the container)."""
    for channel in request.get("InputDataConfig", []):
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source and channel["ChannelName"] == CODE_CHANNEL:
            return str(source["S3Uri"])
    return None


def keys_under(s3: Any, uri: str, conn: Connection) -> Iterator[str]:
    """Keys of the objects an ``S3Prefix`` data source matches (every key starting so)."""
    bucket, prefix = split_s3(uri)
    token: str | None = None
    for _ in range(MAX_PAGES):
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        with sdk_errors(f"listing {uri}", conn):
            page = s3.list_objects_v2(**kwargs)
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                yield item["Key"]
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return


def _exists(s3: Any, uri: str, conn: Connection) -> bool:
    from cloudgd.errors import JobNotFoundError

    try:
        return next(keys_under(s3, uri, conn), None) is not None
    except JobNotFoundError:  # NoSuchBucket
        return False


def _field(request: dict[str, Any], channel: str) -> str:
    """The spec field a channel comes from: ``script.inputs.<name>`` when the request runs
    a script job's launcher, else the trainer's data."""
    hps = request.get("HyperParameters") or request.get("StaticHyperParameters") or {}
    script = hps.get("sagemaker_program") == json.dumps(SCRIPT_ENTRY_NAME)
    return f"script.inputs.{channel}" if script else "trainer.data.uri"


def check_inputs(s3: Any, request: dict[str, Any], conn: Connection) -> None:
    """Refuse, as SageMaker fails the job at start, when a channel's URI matches no object."""
    for name, uri in input_channels(request):
        if not _exists(s3, uri, conn):
            raise SpecError(
                f"{_field(request, name)}: input channel {name!r} has no objects under {uri} "
                f"in {conn.describe()} (SageMaker fails such a job at start)",
                hint=f"put the data there first: cloudgd data upload PATH {uri} "
                "(or submit with --data-from PATH)",
            )


def download_channel(s3: Any, uri: str, dest: Path, conn: Connection) -> int:
    """Copy what ``uri`` matches into ``dest`` as SageMaker's File mode lays it out: each
    key relative to the URI's last ``/``. Returns the number of files."""
    bucket, prefix = split_s3(uri)
    folder = prefix[: prefix.rfind("/") + 1]
    count = 0
    for key in keys_under(s3, uri, conn):
        target = dest / key[len(folder) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        with sdk_errors(f"downloading s3://{bucket}/{key}", conn):
            s3.download_file(bucket, key, str(target))
        count += 1
    return count


def upload_path(s3: Any, source: Path, uri: str, conn: Connection) -> list[str]:
    """Put a local file or directory at ``uri`` (a file to a URI ending in ``/`` keeps its
    name; a directory's files go under the URI as a prefix). Returns the URIs written."""
    from cloudgd.datafiles import upload_targets

    bucket, key = split_s3(uri)
    pairs = upload_targets(source, uri if key else uri.rstrip("/") + "/")
    if conn.rehearsal:
        ensure_bucket(s3, bucket, conn)
    written = []
    for path, target in pairs:
        with sdk_errors(f"uploading {path} to {target}", conn):
            s3.upload_file(str(path), bucket, split_s3(target)[1])
        written.append(target)
    return written

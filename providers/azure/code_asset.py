"""The code bundle as an Azure ML code asset: a folder the job starts in.

Azure ML copies a code asset's *folder* into the job's working directory; it
does not unpack archives. So submit unpacks the deterministic bundle (after
checking its hash) into a folder beside it and uploads that folder as code
asset ``cloudgd-bundle:<first 12 hex of the bundle hash>``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

from cloudgd.errors import ProviderError

_CODE_ID = re.compile(r"/codes/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$")


def name_and_version(destination: str) -> tuple[str, str]:
    """(name, version) of an upload destination ``azureml:/.../codes/N/versions/V``."""
    match = _CODE_ID.search(destination)
    if not match:
        raise ProviderError(f"not a code asset destination: {destination}")
    return match.group("name"), match.group("version")


def unpacked_bundle(archive: Path, sha256: str | None) -> Path:
    """The bundle's files in ``<archive without .tar.gz>/``, unpacked once and reused."""
    if not archive.is_file():
        raise ProviderError(
            f"code bundle not found: {archive}",
            hint="plan and submit in one go (`cloudgd submit`), or rebuild the plan",
        )
    data = archive.read_bytes()
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise ProviderError(
            f"code bundle {archive} changed since it was planned",
            hint="plan again; the bundle name is its content hash",
        )
    target = archive.parent / archive.name.removesuffix(".tar.gz")
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=archive.parent))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # another process won the race: use its copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target

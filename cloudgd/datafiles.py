"""Which local files ``cloudgd data upload PATH URI`` writes, and where: one rule for
every cloud's storage (S3, Cloud Storage, Azure blob datastores).

A file goes to the URI itself, or keeps its name under a URI that ends in ``/``; a
directory's regular files go under the URI as a prefix, by their relative paths.
Symbolic links are not followed, so nothing outside the directory is uploaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cloudgd.errors import SpecError, UsageError

if TYPE_CHECKING:
    from providers.base import Provider


def upload_targets(source: Path, uri: str) -> list[tuple[Path, str]]:
    """(local file, target URI) for each file to upload, sorted by target."""
    if source.is_symlink() or not source.exists():
        raise SpecError(f"{source}: not a file or directory here (symbolic links are refused)")
    if source.is_file():
        return [(source, uri + source.name if uri.endswith("/") else uri)]
    if not source.is_dir():
        raise SpecError(f"{source}: not a regular file or directory")
    base = uri if uri.endswith("/") else uri + "/"
    found = []
    for folder, dirs, files in os.walk(source):  # followlinks=False: links stay behind
        here = Path(folder)
        dirs.sort()
        for name in sorted(files):
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            found.append((path, base + path.relative_to(source).as_posix()))
    return sorted(found, key=lambda pair: pair[1])


def upload(provider: Provider, path: Path, uri: str) -> list[str]:
    """``provider.upload_data(path, uri)`` (the URIs written), or a clear refusal when the
    provider has no such hook."""
    upload_data = getattr(provider, "upload_data", None)
    if upload_data is None:
        raise UsageError(
            f"provider {provider.name} cannot upload data",
            hint="copy the data with the cloud's own tools",
        )
    written: list[str] = upload_data(path, uri)
    return written

"""Copying an Azure ML job's output folders here (``cloudgd download``), SDK-free.

The client lists and reads the blobs; this module decides where each lands: by its name
relative to the folder, never outside the destination.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path


def copy_blobs(
    names: Iterable[str], folder: str, dest: Path, read: Callable[[str], bytes]
) -> list[tuple[str, Path]]:
    """Write every blob ``name`` under ``folder`` (``""``: the whole container) into
    ``dest`` by its name relative to the folder, reading it with ``read(name)``;
    (relative name, file) for each. A name that would land outside ``dest`` (``..``, an
    absolute path) is skipped, as are folder markers."""
    root = dest.resolve()
    copied: list[tuple[str, Path]] = []
    for name in names:
        relative = name[len(folder) :]
        target = (root / relative).resolve()
        if not relative or name.endswith("/") or not target.is_relative_to(root):
            continue
        data = read(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        copied.append((relative, target))
    return copied

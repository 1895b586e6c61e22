"""``cloudgd download`` / ``Run.download``: a job's model, metrics and outputs in one folder.

Every provider fills the same layout, so scripts need not know where the job ran:

- ``DEST/model/``: what the trainer saved as the model (SageMaker's ``model.tar.gz``
  unpacked);
- ``DEST/output/``: ``metrics.jsonl``, ``summary.json`` and the trainer's other outputs.

A download never writes over what it did not create: a ``model`` or ``output``
folder already in DEST is refused before anything is copied.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from cloudgd.errors import UsageError

PARTS = ("model", "output")

# Called once per file written: (path relative to DEST, size in bytes).
Progress = Callable[[str, int], None]


def check_free(dest: Path) -> None:
    """UsageError when DEST already holds a ``model`` or ``output`` entry."""
    taken = [dest / part for part in PARTS if (dest / part).exists() or (dest / part).is_symlink()]
    if taken:
        raise UsageError(
            f"--dest {dest}: {taken[0]} already exists; a download writes only new folders",
            hint="choose another --dest, or move that folder away",
        )


def copy_tree(source: Path, dest: Path, part: str, progress: Progress | None = None) -> list[Path]:
    """Copy the regular files under ``source`` to ``dest/part``; the files written.

    Symlinks are skipped: a run's folder should hold none, and following one could
    copy something from outside the run.
    """
    written: list[Path] = []
    for path in sorted(source.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        relative = path.relative_to(source)
        target = dest / part / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(target)
        if progress is not None:
            progress(f"{part}/{relative.as_posix()}", target.stat().st_size)
    return written


def unpack(archive: Path, dest: Path, part: str, progress: Progress | None = None) -> list[Path]:
    """Unpack a tar(.gz) into ``dest/part`` with tarfile's ``data`` filter (no absolute
    paths, no ``..``, no links out of the folder, no device files); the files written."""
    target = dest / part
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tarfile.open(archive, "r:*") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        tar.extractall(target, members=members, filter="data")
    for member in sorted(members, key=lambda m: m.name):
        path = target / member.name
        if path.is_file():
            written.append(path)
            if progress is not None:
                progress(f"{part}/{Path(member.name).as_posix()}", path.stat().st_size)
    return written


def size_text(size: int) -> str:
    """``532 B``, ``12.3 KB``, ``4.1 MB``: sizes for progress lines."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # unreachable: the loop returns at GB

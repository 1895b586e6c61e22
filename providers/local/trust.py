"""Which directories a handle may reach: only runs (and studies) that cloudgd created.

A handle is text a user may have been given by someone else. ``status``, ``cancel``
and the orphan check write ``state.json`` and signal the processes it names, so a
handle pointing at an arbitrary directory would let its ``state.json`` steer
cloudgd's signals. cloudgd therefore marks what it creates: a runs directory gets
``.cloudgd-runs`` when the first run is written into it, and each run (each study)
gets ``.cloudgd-run`` (``.cloudgd-study``) inside its staging directory, before
it is renamed into place. A handle is followed only when the directory, with
every symlink resolved, holds its marker and sits directly in a marked runs
directory (a study's: in ``<runs>/studies``).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cloudgd.errors import JobNotFoundError, UsageError

ROOT_MARKER = ".cloudgd-runs"
RUN_MARKER = ".cloudgd-run"
STUDY_MARKER = ".cloudgd-study"
_HINT = (
    "handles may only name runs cloudgd created; `cloudgd list` shows them (a run made "
    "before cloudgd marked its runs has no marker: delete it and submit again)"
)


def _is_marker(path: Path) -> bool:
    try:
        info = path.lstat()  # a symlinked marker could be planted pointing anywhere
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode)


def _write_marker(path: Path, about: dict[str, str]) -> None:
    if not _is_marker(path):
        path.write_text(json.dumps({"created_by": "cloudgd", **about}, sort_keys=True) + "\n")


def mark_root(root: Path) -> None:
    """Record that ``root`` is a runs directory cloudgd writes runs into."""
    _write_marker(root / ROOT_MARKER, {"kind": "runs"})


def mark_run(run_dir: Path, job_name: str) -> None:
    """Mark a run directory (still being staged) as cloudgd's."""
    _write_marker(run_dir / RUN_MARKER, {"kind": "run", "job_name": job_name})


def mark_study(study_dir: Path, name: str) -> None:
    """Mark a tuning study's directory (and its runs root) as cloudgd's."""
    study_dir.mkdir(parents=True, exist_ok=True)
    mark_root(study_dir.parent.parent)
    _write_marker(study_dir / STUDY_MARKER, {"kind": "study", "job_name": name})


def is_run(path: Path) -> bool:
    """True when ``path`` (as it is, no symlinks followed) is a marked run in a marked root."""
    return _is_marker(path / RUN_MARKER) and _is_marker(path.parent / ROOT_MARKER)


def _resolved(raw: str | Path, what: str) -> Path:
    text = str(raw)
    if not text or "\x00" in text:
        raise UsageError(f"not a local {what} directory: {text!r}", hint=_HINT)
    try:
        path = Path(os.path.realpath(text))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot resolve the local {what} directory {text!r}: {exc}") from exc
    try:
        exists = path.is_dir()
    except OSError:
        exists = False
    if not exists:
        raise JobNotFoundError(
            f"no local {what} at {text}",
            hint="`cloudgd list --provider local` shows the runs it knows",
        )
    return path


def trusted_run(raw: str | Path) -> Path:
    """The real path of a run directory cloudgd created; UsageError (exit 2) otherwise."""
    path = _resolved(raw, "run")
    if not is_run(path):
        raise UsageError(
            f"refusing {raw}: not a run directory created by cloudgd "
            f"(no {RUN_MARKER} in it, or its parent is not a cloudgd runs directory)",
            hint=_HINT,
        )
    return path


def trusted_study(raw: str | Path) -> Path:
    """The real path of a study directory cloudgd created; UsageError (exit 2) otherwise."""
    path = _resolved(raw, "study")
    root = path.parent
    if not (
        _is_marker(path / STUDY_MARKER)
        and root.name == "studies"
        and _is_marker(root.parent / ROOT_MARKER)
    ):
        raise UsageError(
            f"refusing {raw}: not a tuning study created by cloudgd (no {STUDY_MARKER} in it)",
            hint=_HINT,
        )
    return path

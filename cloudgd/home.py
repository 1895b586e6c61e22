"""Where cloudgd keeps its state: ``$CLOUDGD_HOME`` (default ``~/.cloudgd``)."""

from __future__ import annotations

import os
from pathlib import Path

from cloudgd.errors import UsageError

# Kernel and device trees: nothing cloudgd writes can live there.
_SYSTEM_TREES = ("/proc", "/sys", "/dev")


def checked_dir(path: Path, what: str) -> Path:
    """``path`` if it can hold cloudgd's files; UsageError (exit 2) naming ``what`` if not.

    It may not exist yet (cloudgd creates it), but it must not be a file, nor lie
    in /proc, /sys or /dev (``/proc/self`` is a directory no one can write into).
    """
    text = str(path)
    if "\x00" in text:
        raise UsageError(f"{what} contains a NUL byte: {text!r}")
    real = os.path.realpath(text)
    inside = [tree for tree in _SYSTEM_TREES if real == tree or real.startswith(tree + "/")]
    if inside:
        raise UsageError(
            f"{what} points into {inside[0]}: {text}",
            hint="point it at a directory of your own, e.g. ~/.cloudgd",
        )
    if os.path.lexists(real) and not os.path.isdir(real):
        raise UsageError(
            f"{what} is not a directory: {text}",
            hint="point it at a directory (cloudgd creates it if it does not exist)",
        )
    return path


def home() -> Path:
    """cloudgd's state directory (runs, backend servers, bundles, user config)."""
    chosen = os.environ.get("CLOUDGD_HOME")
    path = Path(chosen or Path.home() / ".cloudgd").expanduser()
    return checked_dir(path, "CLOUDGD_HOME" if chosen else "~/.cloudgd")


def runs_dir(override: str | None = None) -> Path:
    """Local runs: ``override``, else ``$CLOUDGD_RUNS_DIR``, else ``<home>/runs``."""
    chosen = override or os.environ.get("CLOUDGD_RUNS_DIR")
    if not chosen:
        return checked_dir(home() / "runs", "the runs directory (<CLOUDGD_HOME>/runs)")
    what = "the runs directory" if override else "CLOUDGD_RUNS_DIR"
    return checked_dir(Path(chosen).expanduser(), what)


def bundles_dir() -> Path:
    """Built code bundles, content-addressed."""
    return home() / "bundles"


def servers_dir() -> Path:
    """State files of the local backend servers (moto, fake Vertex, fake Azure ML)."""
    return home() / "servers"

"""Where cloudgd keeps its state: ``$CLOUDGD_HOME`` (default ``~/.cloudgd``)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """cloudgd's state directory (runs, backend servers, bundles, user config)."""
    return Path(os.environ.get("CLOUDGD_HOME") or Path.home() / ".cloudgd").expanduser()


def runs_dir(override: str | None = None) -> Path:
    """Local runs: ``override``, else ``$CLOUDGD_RUNS_DIR``, else ``<home>/runs``."""
    chosen = override or os.environ.get("CLOUDGD_RUNS_DIR")
    return Path(chosen).expanduser() if chosen else home() / "runs"


def bundles_dir() -> Path:
    """Built code bundles, content-addressed."""
    return home() / "bundles"


def servers_dir() -> Path:
    """State files of the local backend servers (moto, fake Vertex, fake Azure ML)."""
    return home() / "servers"

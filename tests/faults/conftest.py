"""Fixtures for the fault-injection suite: a private CLOUDGD_HOME, one thread per torch."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLOUDGD_HOME in a temp dir, so nothing lands in ~/.cloudgd."""
    path = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(path))
    for name in ("CLOUDGD_RUNS_DIR", "CLOUDGD_OUTPUT", "CLOUDGD_DEBUG", "CLOUDGD_IDEMPOTENCY_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return path

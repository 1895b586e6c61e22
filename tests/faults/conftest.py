"""Fixtures for the fault-injection suite: a private CLOUDGD_HOME, one thread per torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_home import private_home


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLOUDGD_HOME in a temp dir, so nothing lands in ~/.cloudgd."""
    path = private_home(tmp_path, monkeypatch)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return path

"""Shared set-up for the Terraform tests: a private CLOUDGD_HOME and the helper module."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tfhcl sits next to the tests; make it importable under any pytest import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own CLOUDGD_HOME so nothing lands in ~/.cloudgd."""
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    return home

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep anything cloudgd writes out of ~/.cloudgd."""
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    return home

"""Tuning tests: an isolated CLOUDGD_HOME and no AWS settings from the developer."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for var in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "CLOUDGD_AWS_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home

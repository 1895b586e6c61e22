"""Fixtures for the bad-input suites: a private CLOUDGD_HOME and an in-process CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_home import CLOUDGD_SETTINGS, Invoke, invoke_cli, private_home


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLOUDGD_HOME in a temp dir, so nothing lands in ~/.cloudgd."""
    path = private_home(
        tmp_path, monkeypatch, unset=(*CLOUDGD_SETTINGS, "GITHUB_SHA", "GITHUB_RUN_ATTEMPT")
    )
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return path


@pytest.fixture
def invoke() -> Invoke:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""
    return invoke_cli

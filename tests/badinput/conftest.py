"""Fixtures for the bad-input suites: a private CLOUDGD_HOME and an in-process CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cloudgd.cli.main import cli

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLOUDGD_HOME in a temp dir, so nothing lands in ~/.cloudgd."""
    path = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(path))
    for name in ("CLOUDGD_RUNS_DIR", "CLOUDGD_OUTPUT", "CLOUDGD_DEBUG", "CLOUDGD_IDEMPOTENCY_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("GITHUB_SHA", "GITHUB_RUN_ATTEMPT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return path


@pytest.fixture
def invoke() -> Invoke:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args))

    return run

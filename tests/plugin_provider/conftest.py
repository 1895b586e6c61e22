"""Fixtures: an isolated CLOUDGD_HOME, the toy plug-in "installed", a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli_home import Invoke, invoke_cli, private_home

SITE = Path(__file__).resolve().parent / "site"
"""Where the toy distribution's metadata lives, as pip would have left it."""


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_home(tmp_path, monkeypatch)


@pytest.fixture
def toy_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy distribution on sys.path: its entry point is all cloudgd sees of it."""
    monkeypatch.syspath_prepend(str(SITE))


@pytest.fixture
def invoke() -> Invoke:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""
    return invoke_cli


@pytest.fixture
def job_file(tmp_path: Path) -> Callable[[str], str]:
    """Write a small job spec with the given ``providers:`` lines; returns its path."""

    def write(providers: str = "") -> str:
        path = tmp_path / "job.yaml"
        body = "name: toy-job\ntrainer: {epochs: 2, data: {source: digits}}\n"
        path.write_text(body + (f"providers:\n{providers}" if providers else ""), encoding="utf-8")
        return str(path)

    return write

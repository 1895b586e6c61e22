"""Fixtures: an isolated CLOUDGD_HOME, the toy plug-in "installed", a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cloudgd.cli.main import cli

SITE = Path(__file__).resolve().parent / "site"
"""Where the toy distribution's metadata lives, as pip would have left it."""

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    for name in ("CLOUDGD_RUNS_DIR", "CLOUDGD_OUTPUT", "CLOUDGD_DEBUG", "CLOUDGD_IDEMPOTENCY_KEY"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def toy_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy distribution on sys.path: its entry point is all cloudgd sees of it."""
    monkeypatch.syspath_prepend(str(SITE))


@pytest.fixture
def invoke() -> Invoke:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args))

    return run


@pytest.fixture
def job_file(tmp_path: Path) -> Callable[[str], str]:
    """Write a small job spec with the given ``providers:`` lines; returns its path."""

    def write(providers: str = "") -> str:
        path = tmp_path / "job.yaml"
        body = "name: toy-job\ntrainer: {epochs: 2, data: {source: digits}}\n"
        path.write_text(body + (f"providers:\n{providers}" if providers else ""), encoding="utf-8")
        return str(path)

    return write

"""What the in-process CLI suites share: a private CLOUDGD_HOME and a ``cloudgd`` runner."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cloudgd.cli.main import cli

Invoke = Callable[..., Result]

# cloudgd's own settings a developer's shell may hold; a test that wants one sets it.
CLOUDGD_SETTINGS = (
    "CLOUDGD_RUNS_DIR",
    "CLOUDGD_OUTPUT",
    "CLOUDGD_DEBUG",
    "CLOUDGD_IDEMPOTENCY_KEY",
)


def private_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, unset: Iterable[str] = CLOUDGD_SETTINGS
) -> Path:
    """CLOUDGD_HOME in ``tmp_path`` (so nothing lands in ~/.cloudgd), and none of ``unset``
    in the environment."""
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    return home


def invoke_cli(*args: str, input: str | None = None) -> Result:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""
    return CliRunner().invoke(cli, list(args), input=input)

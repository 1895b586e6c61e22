"""Fixtures for Python API tests: an isolated CLOUDGD_HOME and the ``fake`` cloud provider."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cloudgd import registry
from tests.support.cli_home import CLOUDGD_SETTINGS, private_home


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_home(
        tmp_path,
        monkeypatch,
        unset=(
            *CLOUDGD_SETTINGS,
            "GITHUB_ACTIONS",
            "GITHUB_SHA",
            "GITHUB_RUN_ID",
            "GITHUB_RUN_ATTEMPT",
            "CI",
        ),
    )


@pytest.fixture(autouse=True)
def fake_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fake``: a cloud-like provider whose jobs' fate the spec's env.FAKE_OUTCOME steers."""
    info = registry.ProviderInfo("fake", "tests.cli.fakes:FakeProvider", None, (), "a fake cloud")
    monkeypatch.setitem(registry.BUILTINS, "fake", info)


@pytest.fixture
def job_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a small valid job file (extra YAML lines appended) and return its path."""

    def write(extra: str = "", name: str = "job.yaml") -> Path:
        path = tmp_path / name
        path.write_text(
            "name: tiny-job\ntrainer: {epochs: 3, data: {source: digits}}\n" + extra,
            encoding="utf-8",
        )
        return path

    return write

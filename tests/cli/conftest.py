"""Fixtures for CLI tests: an isolated CLOUDGD_HOME, fake providers, a runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cloudgd import registry
from tests.support.cli_home import CLOUDGD_SETTINGS, Invoke, invoke_cli, private_home

REPO = Path(__file__).resolve().parents[2]
DIGITS = str(REPO / "examples" / "digits.yaml")


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_home(
        tmp_path, monkeypatch, unset=(*CLOUDGD_SETTINGS, "GITHUB_SHA", "GITHUB_RUN_ATTEMPT")
    )


@pytest.fixture(autouse=True)
def fake_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register ``fake`` and replace ``local`` with a fake (the real one is tested elsewhere)."""
    monkeypatch.setitem(
        registry.BUILTINS,
        "fake",
        registry.ProviderInfo("fake", "tests.cli.fakes:FakeProvider", None, (), "a fake cloud"),
    )
    monkeypatch.setitem(
        registry.BUILTINS,
        "local",
        registry.ProviderInfo(
            "local", "tests.cli.fakes:FakeLocalProvider", None, (), "a fake local runner"
        ),
    )


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace ``aws`` with a fake that has the moto rehearsal backend."""
    info = registry.ProviderInfo("aws", "tests.cli.fakes:FakeAwsProvider", None, (), "fake aws")
    monkeypatch.setitem(registry.BUILTINS, "aws", info)


@pytest.fixture
def invoke() -> Invoke:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""
    return invoke_cli


@pytest.fixture
def job_file(tmp_path: Path) -> Callable[..., str]:
    """Write a small valid job spec (with extra YAML lines) and return its path."""

    def write(extra: str = "", name: str = "job.yaml") -> str:
        path = tmp_path / name
        path.write_text(
            "name: tiny-job\ntrainer: {epochs: 3, data: {source: digits}}\n" + extra,
            encoding="utf-8",
        )
        return str(path)

    return write

"""Fixtures for the CI tests: an isolated CLOUDGD_HOME, no CI variables from the
machine running the tests, and an in-process CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cloudgd.cli.main import cli

# Everything cloudgd.ci.environment reads, and cloudgd settings a developer may have set.
CI_VARIABLES = (
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_SHA",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_REPOSITORY",
    "GITHUB_SERVER_URL",
    "GITHUB_STEP_SUMMARY",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "JENKINS_URL",
    "CLOUDGD_IDEMPOTENCY_KEY",
    "CLOUDGD_OUTPUT",
    "CLOUDGD_DEBUG",
    "CLOUDGD_RUNS_DIR",
    "CLOUDGD_AWS_ENDPOINT",
    "CLOUDGD_GCP_ENDPOINT",
    "CLOUDGD_AZURE_ENDPOINT",
    "FORCE_COLOR",
)

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def invoke() -> Invoke:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args))

    return run

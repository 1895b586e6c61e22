"""Fixtures for the CI tests: an isolated CLOUDGD_HOME, no CI variables from the
machine running the tests, and an in-process CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_home import Invoke, invoke_cli, private_home

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


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_home(tmp_path, monkeypatch, unset=CI_VARIABLES)


@pytest.fixture
def invoke() -> Invoke:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""
    return invoke_cli

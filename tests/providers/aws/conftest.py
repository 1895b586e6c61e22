"""Fixtures for the AWS provider tests: an isolated home and AWS environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_helpers import make_spec

from cloudgd.bundle import build_bundle
from cloudgd.plan import BundleRef


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing from the developer's ~/.aws or ~/.cloudgd, and no instance-metadata lookups."""
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "CLOUDGD_AWS_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home


@pytest.fixture
def real_bundle(tmp_path: Path) -> BundleRef:
    """A real code bundle on disk (for tests that upload it)."""
    config = json.dumps(make_spec().trainer.model_dump(mode="json"), sort_keys=True)
    return build_bundle(config, None, tmp_path / "bundles")

"""Fixtures for the Azure provider tests: an isolated home, no ambient Azure identity,
and a fake Azure ML service on 127.0.0.1 that each test starts and stops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.azure.rehearsal.fake import FakeAzureML, serve
from providers.azure.rehearsal.fake_store import FakeStore
from tests.support.serving import serving

_AZURE_ENV = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZUREML_WORKSPACE_NAME",
    "AZUREML_DEV_URL_MFE",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
    "CLOUDGD_AZURE_ENDPOINT",
    "AZUREML_CURRENT_CLOUD",
    "ARM_CLOUD_METADATA_URL",
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing from ~/.cloudgd or the developer's Azure identity leaks into a test."""
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    for var in _AZURE_ENV:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def fake_store() -> FakeStore:
    """Fast state transitions: each state lasts 0.2 s, Running lasts 0.6 s."""
    return FakeStore(step_seconds=0.2, run_steps=3)


@pytest.fixture
def fake_azure(fake_store: FakeStore, tmp_path: Path) -> Iterator[FakeAzureML]:
    """The fake Azure ML service in this process, stopped after the test."""
    server = serve("127.0.0.1", 0, fake_store, tmp_path / "fake-requests.log")
    with serving(server):
        yield server

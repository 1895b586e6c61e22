"""The SDK client's edges: missing credentials, an unreachable fake, the cloud it records."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

from cloudgd.errors import CredentialsError, ProviderError
from providers.azure.client import AzureClient
from providers.azure.rehearsal.connection import fake_connection
from providers.azure.rehearsal.fake import FakeAzureML
from providers.azure.scope import WorkspaceScope

SCOPE = WorkspaceScope("11111111-2222-3333-4444-555555555555", "ml-rg", "ml-ws")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test instead of reaching out."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_missing_credentials_are_one_clear_line(no_network: None) -> None:
    from azure.identity import DefaultAzureCredential

    # The parts of DefaultAzureCredential that would probe the network (instance
    # metadata) or need an identity provider are off; the rest find nothing here.
    credential = DefaultAzureCredential(
        exclude_managed_identity_credential=True,
        exclude_workload_identity_credential=True,
        exclude_interactive_browser_credential=True,
        exclude_broker_credential=True,
        process_timeout=5,
    )
    client = AzureClient(SCOPE, credential=credential)
    with pytest.raises(CredentialsError) as caught:
        client.get_job("digits-123")
    assert caught.value.message.startswith("no usable Azure credentials for job digits-123: ")
    assert "\n" not in caught.value.message
    assert "az login" in (caught.value.hint or "")


def test_an_unreachable_fake_is_reported(unused_port: int) -> None:
    with pytest.raises(ProviderError) as caught:
        AzureClient(SCOPE, connection=fake_connection(f"http://127.0.0.1:{unused_port}"))
    assert "does not answer" in caught.value.message


def test_the_fake_cloud_does_not_become_the_process_default(fake_azure: FakeAzureML) -> None:
    AzureClient(SCOPE, connection=fake_connection(fake_azure.plain_url))
    assert "AZUREML_CURRENT_CLOUD" not in os.environ


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port

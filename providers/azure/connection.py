"""How :class:`providers.azure.client.AzureClient` reaches Azure ML: the cloud or a rehearsal.

Everything that differs for the local fake service (its endpoints, the one certificate
to trust, a static token, where blobs live) arrives in a :class:`Connection`, so the
real client never imports the fake (:mod:`providers.azure.rehearsal.connection` makes
the fake's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Connection:
    """Where and how to connect; the defaults mean the Azure public cloud."""

    cloud: str | None = None  # MLClient's cloud= (a custom cloud's name)
    cloud_metadata: Mapping[str, str] | None = None  # that cloud's endpoints
    verify: str | None = None  # the only CA certificate to trust (a PEM file)
    static_token: str | None = None  # a bearer token instead of DefaultAzureCredential
    # Blob storage served path-style with SAS auth (like Azurite) instead of the account
    # the datastore names.
    blob_account_url: str | None = None
    blob_credential: str | None = None

    @property
    def is_custom_cloud(self) -> bool:
        """True when MLClient is pointed at a cloud other than the defaults."""
        return self.cloud is not None


CLOUD = Connection()

"""The :class:`~providers.azure.connection.Connection` that reaches the local fake service.

A static token, a custom cloud whose endpoints are the fake's https address, the fake's
own certificate as the only trusted CA (see :mod:`providers.azure.rehearsal.fake_tls`
for why the fake speaks TLS) and blobs served path-style on plain http with SAS auth.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from cloudgd.errors import ProviderError
from providers.azure.connection import Connection
from providers.azure.rehearsal.fake_common import ACCOUNT, FAKE_SAS
from providers.azure.rehearsal.fake_tls import fake_certificate

FAKE_TOKEN = "cloudgd-fake-token"  # any token does: the fake checks none


def fake_connection(endpoint: str | None) -> Connection:
    """How to reach the fake at ``endpoint`` (its certificate is fetched from it)."""
    if not endpoint:
        raise ProviderError("the fake Azure ML backend needs an endpoint")
    split = urlsplit(endpoint)
    base = f"https://{split.hostname}:{split.port}/"
    return Connection(
        cloud=f"cloudgd-fake-{split.port}",
        cloud_metadata={
            "azure_portal": base,
            "resource_manager": base,
            "active_directory": base,
            "aml_resource_id": base,
            "storage_endpoint": "core.windows.net",
            "registry_discovery_endpoint": base,
        },
        verify=str(fake_certificate(endpoint)),
        static_token=FAKE_TOKEN,
        blob_account_url=f"http://{split.hostname}:{split.port}/{ACCOUNT}",
        blob_credential=FAKE_SAS,
    )

"""Constants and small helpers shared by the fake Azure ML service's modules."""

from __future__ import annotations

import re
from datetime import UTC, datetime

ACCOUNT = "devstoreaccount1"
UPLOAD_CONTAINER = "azureml-blobstore-fake"
# A SAS-shaped query string: the fake checks no signature, azure-storage-blob wants one.
FAKE_SAS = "sv=2021-08-06&ss=b&srt=co&sp=rwdlac&se=2099-01-01T00%3A00%3A00Z&sig=fake"
CERT_ROUTE = "/cloudgd-fake/cert.pem"
WS_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)(?P<rest>/.*)?$",
    re.IGNORECASE,
)


def iso(moment: datetime | None) -> str | None:
    """Azure's UTC timestamp form, or None."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None

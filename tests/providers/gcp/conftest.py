"""Fixtures for the Vertex AI provider: a private CLOUDGD_HOME, specs, and the fake service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gcp_helpers import Fake

from cloudgd.bundle import build_bundle
from cloudgd.plan import BundleRef
from providers.gcp.rehearsal.fake import make_server
from providers.gcp.rehearsal.fake_store import Phases
from tests.support.serving import serving


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep cloudgd's state (bundles, servers) out of ~/.cloudgd."""
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    monkeypatch.delenv("CLOUDGD_GCP_ENDPOINT", raising=False)
    return home


@pytest.fixture
def real_bundle(cloudgd_home: Path) -> BundleRef:
    """The real sdist, built the way `cloudgd plan --provider gcp` builds it."""
    return build_bundle('{"epochs": 2}', None, cloudgd_home / "bundles", "sdist")


@pytest.fixture
def fake() -> Iterator[Fake]:
    """The fake Vertex/GCS/Logging service on 127.0.0.1, with short phases."""
    server = make_server(phases=Phases(queued=0.2, pending=0.2, running=1.0, cancelling=0.2))
    with serving(server):
        yield Fake(server=server, url=f"http://127.0.0.1:{server.server_address[1]}")

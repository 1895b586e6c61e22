"""The fake Azure ML service over HTTP: TLS and plain http on one port, routes, bounds."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cloudgd import servers
from providers.azure.rehearsal.fake import CERT_ROUTE, FakeAzureML

WS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


def _tls(server: FakeAzureML) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=server.cert_pem.decode())


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_one_port_speaks_tls_and_plain_http(fake_azure: FakeAzureML) -> None:
    status, pem = _get(fake_azure.plain_url + CERT_ROUTE)
    assert status == 200 and pem == fake_azure.cert_pem
    status, body = _get(f"{fake_azure.base_url}{WS}?api-version=x", _tls(fake_azure))
    assert status == 200
    assert json.loads(body)["properties"]["discoveryUrl"].startswith(fake_azure.base_url)


def test_the_certificate_is_only_trusted_when_given() -> None:
    # A client with the system CAs must refuse the fake's self-signed certificate.
    from providers.azure.rehearsal.fake import serve
    from providers.azure.rehearsal.fake_store import FakeStore

    server = serve("127.0.0.1", 0, FakeStore())
    import threading

    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(server.base_url + WS, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_unknown_routes_and_missing_jobs_are_404_with_azure_error_bodies(
    fake_azure: FakeAzureML,
) -> None:
    status, body = _get(f"{fake_azure.base_url}/nowhere", _tls(fake_azure))
    assert status == 404 and json.loads(body)["error"]["code"] == "NotFound"
    status, body = _get(f"{fake_azure.base_url}{WS}/jobs/missing", _tls(fake_azure))
    assert status == 404 and "missing" in json.loads(body)["error"]["message"]


def test_requests_are_logged(fake_azure: FakeAzureML, tmp_path: Path) -> None:
    _get(f"{fake_azure.base_url}{WS}/computes/none", _tls(fake_azure))
    log = (tmp_path / "fake-requests.log").read_text()
    assert f"GET {WS}/computes/none 404" in log


def test_only_loopback_is_served() -> None:
    from providers.azure.rehearsal.fake import serve
    from providers.azure.rehearsal.fake_store import FakeStore

    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        serve("0.0.0.0", 0, FakeStore())


@pytest.mark.slow
def test_detached_server_starts_once_and_stops(isolated_environment: Path) -> None:
    url = servers.ensure("azure-fake", "providers.azure.rehearsal.fake")
    try:
        assert servers.ensure("azure-fake", "providers.azure.rehearsal.fake") == url
        status, _ = _get(url + CERT_ROUTE)
        assert status == 200
        assert (isolated_environment / "servers" / "azure-fake.requests.log").exists()
    finally:
        assert servers.stop("azure-fake")
    assert servers.running("azure-fake") is None


def test_the_module_runs_as_a_server_with_the_servers_contract(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "providers.azure.rehearsal.fake",
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):
            if ready.exists() and ready.read_text().strip():
                break
            if proc.poll() is not None:
                break
            import time

            time.sleep(0.05)
        port = int(ready.read_text())
        status, _ = _get(f"http://127.0.0.1:{port}{CERT_ROUTE}")
        assert status == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_concurrency_is_bounded(fake_azure: FakeAzureML) -> None:
    import socket
    import threading

    fake_azure.slots = threading.BoundedSemaphore(1)
    fake_azure.slot_wait_seconds = 0.2
    idle = socket.create_connection(fake_azure.server_address)  # holds the only slot
    try:
        status, _ = _get(fake_azure.plain_url + CERT_ROUTE)
        assert status == 503
    finally:
        idle.close()
    fake_azure.slot_wait_seconds = 5.0  # the held slot is released once the idle client leaves
    status, _ = _get(fake_azure.plain_url + CERT_ROUTE)
    assert status == 200

"""A fake Azure ML service on 127.0.0.1 that the real ``azure-ai-ml`` MLClient talks to.

It answers the calls MLClient makes for cloudgd's operations, in Azure's own
JSON shapes: ARM (workspace, jobs PUT/GET/list/cancel, computes GET/PUT, code
and environment versions, ``startPendingUpload``, datastores), workspace
discovery, run history (run details with log-file URLs), the log files, and a
path-style blob endpoint like the Azurite emulator (``/<account>/<container>/<blob>``).

Why the code upload works over plain http: the SDK uploads a code asset to the
SAS URL that ``startPendingUpload`` returns; a SAS is not a bearer token, so
azure-core's https-only check for bearer tokens does not apply, and
azure-storage-blob treats ``127.0.0.1`` URLs path-style as it does for Azurite.
The fake hands out SAS URLs pointing at itself, so the real client runs
unmodified. (Uploading through the datastore instead would send the bearer
token to an ``https://<account>.blob.<suffix>`` host.)

Why the rest speaks TLS: see :mod:`providers.azure.rehearsal.fake_tls` (one port serves both
TLS and plain http).

Run: ``python -m providers.azure.rehearsal.fake --host 127.0.0.1 --port 0 --ready-file F``
(the contract of :mod:`cloudgd.servers`). Bounded: at most ``MAX_WORKERS``
requests at once (others are turned away), bodies up to ``MAX_BODY`` bytes, and the
store's own limits. Every request is logged to ``--request-log``.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from providers.azure.rehearsal.fake_arm import discovery, route_arm
from providers.azure.rehearsal.fake_common import ACCOUNT, CERT_ROUTE
from providers.azure.rehearsal.fake_data import route_blob, route_history, route_log_file
from providers.azure.rehearsal.fake_store import FakeStore, StoreFull
from providers.azure.rehearsal.fake_tls import TLS_HANDSHAKE, make_certificate, server_context

MAX_WORKERS = 16
MAX_BODY = 64 * 1024 * 1024
CONNECTION_TIMEOUT = 30.0


class FakeAzureML(ThreadingHTTPServer):
    """The HTTP server: a FakeStore behind Azure ML's routes, with bounded concurrency."""

    daemon_threads = True
    request_queue_size = 32
    slot_wait_seconds = 5.0

    def __init__(
        self, address: tuple[str, int], store: FakeStore, request_log: Path | None = None
    ) -> None:
        super().__init__(address, Handler)
        self.store = store
        self.slots = threading.BoundedSemaphore(MAX_WORKERS)
        self.request_log = request_log
        self._log_lock = threading.Lock()
        self.cert_pem, key_pem = make_certificate()
        self.tls = server_context(self.cert_pem, key_pem)

    @property
    def base_url(self) -> str:
        """Where the SDK's ARM, discovery and run-history calls go (TLS)."""
        return f"https://127.0.0.1:{self.server_address[1]}"

    @property
    def plain_url(self) -> str:
        """Plain http on the same port: blobs (SAS auth), logs, health, the certificate."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(CONNECTION_TIMEOUT)
        try:
            first = request.recv(1, socket.MSG_PEEK)
            if first and first[0] == TLS_HANDSHAKE:
                request = self.tls.wrap_socket(request, server_side=True)
            Handler(request, client_address, self)
        except (OSError, ssl.SSLError):
            pass  # a client that hung up or failed its handshake is not our problem
        finally:
            if isinstance(request, ssl.SSLSocket):
                request.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(timeout=self.slot_wait_seconds):
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def log_line(self, line: str) -> None:
        if self.request_log is None:
            return
        with self._log_lock, self.request_log.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    """Routes one request; every answer is JSON except blobs and log files."""

    server: FakeAzureML
    protocol_version = "HTTP/1.1"

    # -- plumbing ------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        pass  # our own request log replaces stderr noise

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def reply(
        self,
        status: int,
        payload: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = raw if raw is not None else b""
        if raw is None and payload is not None:
            data = json.dumps(payload).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if data or raw is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", "fake")
        # One request per connection keeps the worker slots from idling on keep-alive.
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.server.log_line(f"{self.command} {self.path} {status}")

    def fail(self, status: int, code: str, message: str) -> None:
        """An Azure-style error body."""
        self.reply(status, {"error": {"code": code, "message": message}})

    def _dispatch(self) -> None:
        try:
            body = self._body() if self.command in ("PUT", "POST") else b""
            fault = self.server.store.take_fault(self.path)
            if fault is not None:
                self.reply(
                    fault,
                    {"error": {"code": "InjectedFault", "message": "injected by a test"}},
                    headers={"Retry-After": "0"},
                )
                return
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            path = split.path
            if path.startswith(f"/{ACCOUNT}/"):
                route_blob(self, path[len(ACCOUNT) + 2 :], query, body)
            elif path == CERT_ROUTE:
                self.reply(200, raw=self.server.cert_pem, content_type="application/x-pem-file")
            elif path == "/fake-done":  # where a finished long-running operation points
                self.reply(200, {"status": "Succeeded"})
            elif path.startswith("/discovery/"):
                self.reply(200, discovery(self))
            elif path.startswith("/fake-logs/"):
                route_log_file(self, path[len("/fake-logs/") :])
            elif path.startswith("/history/v1.0/"):
                route_history(self, path[len("/history/v1.0") :])
            else:
                route_arm(self, path, query, body)
        except StoreFull as exc:
            self.fail(429, "QuotaExceeded", str(exc))
        except (ValueError, KeyError) as exc:
            self.fail(400, "BadRequest", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a fake bug must not take the server down
            self.fail(500, "InternalError", f"{type(exc).__name__}: {exc}")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _dispatch


def serve(host: str, port: int, store: FakeStore, request_log: Path | None = None) -> FakeAzureML:
    """Bind the fake (port 0 picks a free one); the caller runs ``serve_forever``."""
    if host != "127.0.0.1":
        raise ValueError("the fake Azure ML service binds to 127.0.0.1 only")
    return FakeAzureML((host, port), store, request_log)


def main(argv: list[str] | None = None) -> int:
    from cloudgd.servers import serve_ready

    parser = argparse.ArgumentParser(description="Fake Azure ML service for cloudgd rehearsals.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--request-log", help="append one line per request here")
    parser.add_argument("--step-seconds", type=float, default=1.0, help="time per job state")
    parser.add_argument("--run-steps", type=int, default=3, help="steps a job stays Running")
    args = parser.parse_args(argv)
    log = args.request_log or (
        args.ready_file and str(Path(args.ready_file).with_suffix(".requests.log"))
    )
    server = serve(
        args.host,
        args.port,
        FakeStore(step_seconds=args.step_seconds, run_steps=args.run_steps),
        Path(log) if log else None,
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    serve_ready(args.ready_file, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["CERT_ROUTE", "FakeAzureML", "FakeStore", "Handler", "main", "serve"]

"""A fault-injecting HTTP(S) reverse proxy on 127.0.0.1, for provider retry tests.

It sits between a cloud SDK and a local fake (moto, the fake Vertex service, the
fake Azure ML service), forwards every request unchanged, and answers the first
matching requests with a fault instead: an HTTP status with a cloud-shaped body
(throttling, 500, 503) or a TCP reset. Each :class:`Fault` fires a bounded number
of times, so every test ends; nothing listens beyond 127.0.0.1.

``tls=True`` serves TLS and plain http on one port, as the Azure fake does (the
first byte of a TLS connection is 0x16), with its own throw-away certificate,
which it also serves at the fake's certificate route so the client trusts it.

    with FaultProxy(moto_url, [Fault(status=500, method="POST", times=2)]) as proxy:
        client = make_client(endpoint=proxy.url)
        ...
    assert proxy.fired() == 2
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
TLS_HANDSHAKE = 0x16
UPSTREAM_TIMEOUT = 30.0


@dataclass
class Fault:
    """Answer up to ``times`` matching requests with a fault instead of forwarding them.

    ``kind``: "status" (reply ``status`` with ``body``) or "reset" (close the
    connection with a TCP RST, nothing answered). ``method`` and ``path`` (a regex
    searched in the request path) narrow which requests match.
    """

    kind: str = "status"
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    path: str | None = None
    header: tuple[str, str] | None = None  # (name, regex), e.g. ("X-Amz-Target", "Create")
    after: bool = False  # forward first, then fault: the call happened, its answer is lost
    times: int = 1
    fired: int = 0

    def matches(self, method: str, path: str, headers: Any) -> bool:
        if self.fired >= self.times:
            return False
        if self.method and self.method != method:
            return False
        if self.header and not re.search(self.header[1], headers.get(self.header[0]) or ""):
            return False
        return not (self.path and not re.search(self.path, path))


def throttled_aws() -> Fault:
    """What SageMaker answers when throttling (botocore retries ThrottlingException)."""
    body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
    return Fault(status=400, body=body, headers={"Content-Type": "application/x-amz-json-1.1"})


def google_error(status: int, reason: str) -> bytes:
    return (
        f'{{"error": {{"code": {status}, "message": "injected", "status": "{reason}"}}}}'.encode()
    )


class _Reset(Exception):
    """The handler closed the connection with RST on purpose."""


@dataclass
class Seen:
    """One request the proxy handled."""

    method: str
    path: str
    outcome: str  # "forwarded <status>", "status <code>", "reset"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultProxyServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        if proxy.cert_route and self.path == proxy.cert_route and not self.server_is_tls():
            self._reply(200, [("Content-Type", "application/x-pem-file")], proxy.cert_pem)
            return
        fault = proxy.take_fault(self.command, self.path, self.headers)
        if fault is not None and fault.after:
            proxy.forward(
                self.command, self.path, self.headers.items(), body, tls=self.server_is_tls()
            )
        if fault is not None and fault.kind == "reset":
            proxy.record(Seen(self.command, self.path, "reset"))
            sock = self.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            raise _Reset
        if fault is not None:
            proxy.record(Seen(self.command, self.path, f"status {fault.status}"))
            headers = list(fault.headers.items()) or [("Content-Type", "application/json")]
            self._reply(fault.status, headers, fault.body)
            return
        status, headers, answer = proxy.forward(
            self.command, self.path, self.headers.items(), body, tls=self.server_is_tls()
        )
        proxy.record(Seen(self.command, self.path, f"forwarded {status}"))
        self._reply(status, headers, answer)

    def server_is_tls(self) -> bool:
        return isinstance(self.connection, ssl.SSLSocket)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class FaultProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(UPSTREAM_TIMEOUT)
        try:
            tls = self.proxy.tls_context
            if tls is not None:
                first = request.recv(1, socket.MSG_PEEK)
                if first and first[0] == TLS_HANDSHAKE:
                    request = tls.wrap_socket(request, server_side=True)
            _Handler(request, client_address, self)
        except (_Reset, OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # faults end connections on purpose


class FaultProxy:
    """A reverse proxy to ``upstream`` (http://127.0.0.1:PORT) that injects ``faults``."""

    def __init__(
        self,
        upstream: str,
        faults: list[Fault],
        *,
        tls: bool = False,
        cert_route: str | None = None,
    ) -> None:
        split = urlsplit(upstream)
        if split.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("the fault proxy only talks to 127.0.0.1")
        self.upstream_host, self.upstream_port = split.hostname, int(split.port or 80)
        self.faults = faults
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.cert_route = cert_route
        self.cert_pem = b""
        self.tls_context: ssl.SSLContext | None = None
        if tls:
            from providers.azure.rehearsal.fake_tls import make_certificate, server_context

            self.cert_pem, key_pem = make_certificate()
            self.tls_context = server_context(self.cert_pem, key_pem)
        self.server = FaultProxyServer(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def take_fault(self, method: str, path: str, headers: Any) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, headers):
                    fault.fired += 1
                    return fault
        return None

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def fired(self) -> int:
        """How many faults were injected so far."""
        return sum(f.fired for f in self.faults)

    def forward(
        self, method: str, path: str, headers: Any, body: bytes, *, tls: bool
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the upstream is our own fake on loopback
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.upstream_host, self.upstream_port, timeout=UPSTREAM_TIMEOUT, context=context
            )
        else:
            conn = http.client.HTTPConnection(
                self.upstream_host, self.upstream_port, timeout=UPSTREAM_TIMEOUT
            )
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            upstream = f"127.0.0.1:{self.upstream_port}".encode()
            mine = f"127.0.0.1:{self.port}".encode()
            headers = [
                (k, v.replace(upstream.decode(), mine.decode())) for k, v in response.getheaders()
            ]
            # URLs the service hands out (run details, uploads) come back through the proxy.
            return response.status, headers, response.read().replace(upstream, mine)
        finally:
            conn.close()

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

Run: ``python -m providers.azure.fake --host 127.0.0.1 --port 0 --ready-file F``
(the contract of :mod:`cloudgd.servers`). Bounded: at most ``MAX_WORKERS``
requests at once (others get 503), bodies up to ``MAX_BODY`` bytes, and the
store's own limits. Every request is logged to ``--request-log``.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import ssl
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from providers.azure.fake_store import TERMINAL, FakeJob, FakeStore, StoreFull
from providers.azure.fake_tls import TLS_HANDSHAKE, make_certificate, server_context

MAX_WORKERS = 16
MAX_BODY = 64 * 1024 * 1024
CONNECTION_TIMEOUT = 30.0
CERT_ROUTE = "/cloudgd-fake/cert.pem"
ACCOUNT = "devstoreaccount1"
UPLOAD_CONTAINER = "azureml-blobstore-fake"
FAKE_SAS = "sv=2021-08-06&ss=b&srt=co&sp=rwdlac&se=2099-01-01T00%3A00%3A00Z&sig=fake"
_WS = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)(?P<rest>/.*)?$",
    re.IGNORECASE,
)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None


class FakeAzureML(ThreadingHTTPServer):
    """The HTTP server: a FakeStore behind Azure ML's routes, with bounded concurrency."""

    daemon_threads = True
    request_queue_size = 32

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
        if not self.slots.acquire(timeout=5):
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

    def _send(
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

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"error": {"code": code, "message": message}})

    def _dispatch(self) -> None:
        try:
            body = self._body() if self.command in ("PUT", "POST") else b""
            fault = self.server.store.take_fault(self.path)
            if fault is not None:
                self._send(
                    fault,
                    {"error": {"code": "InjectedFault", "message": "injected by a test"}},
                    headers={"Retry-After": "0"},
                )
                return
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            path = split.path
            if path.startswith(f"/{ACCOUNT}/"):
                self._blob(path[len(ACCOUNT) + 2 :], query, body)
            elif path == CERT_ROUTE:
                self._send(200, raw=self.server.cert_pem, content_type="application/x-pem-file")
            elif path == "/fake-done":  # where a finished long-running operation points
                self._send(200, {"status": "Succeeded"})
            elif path.startswith("/discovery/"):
                self._send(200, self._discovery())
            elif path.startswith("/fake-logs/"):
                self._log_file(path[len("/fake-logs/") :])
            elif path.startswith("/history/v1.0/"):
                self._history(path[len("/history/v1.0") :])
            else:
                self._arm(path, query, body)
        except StoreFull as exc:
            self._error(429, "QuotaExceeded", str(exc))
        except (ValueError, KeyError) as exc:
            self._error(400, "BadRequest", f"{type(exc).__name__}: {exc}")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _dispatch

    # -- ARM -----------------------------------------------------------------
    def _arm(self, path: str, query: dict[str, str], body: bytes) -> None:
        match = _WS.match(path)
        if not match:
            self._error(404, "NotFound", f"no route for {path}")
            return
        scope = "/".join(match.group("sub", "rg", "ws"))
        ws = scope.lower()
        arm_prefix = path[: len(path) - len(match.group("rest") or "")]
        parts = [p for p in (match.group("rest") or "").split("/") if p]
        method = self.command
        payload = json.loads(body) if body else {}
        if not parts:
            self._send(200, self._workspace(arm_prefix, match.group("ws")))
        elif parts[0] == "jobs":
            self._jobs(ws, arm_prefix, parts[1:], method, payload, query)
        elif parts[0] == "computes" and len(parts) == 2:
            self._compute(ws, arm_prefix, parts[1], method, payload)
        elif parts[0] in ("codes", "environments") and len(parts) >= 3:
            self._asset(ws, arm_prefix, parts, method, payload, query)
        elif parts[0] == "datastores":
            self._datastores(arm_prefix, parts[1:], method)
        else:
            self._error(404, "NotFound", f"the fake does not serve {path}")

    def _workspace(self, arm_prefix: str, name: str) -> dict[str, Any]:
        return {
            "id": arm_prefix,
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces",
            "location": "eastus",
            "properties": {
                "friendlyName": name,
                "discoveryUrl": f"{self.server.base_url}/discovery/{name}",
                "provisioningState": "Succeeded",
            },
        }

    def _discovery(self) -> dict[str, str]:
        base = self.server.base_url
        return {
            key: base for key in ("api", "catalog", "experimentation", "history", "modelmanagement")
        }

    def _job_body(self, job: FakeJob, arm_prefix: str) -> dict[str, Any]:
        state, _, _ = self.server.store.job_state(job)
        body = json.loads(json.dumps(job.body))
        props = body.setdefault("properties", {})
        props["status"] = state
        props.setdefault("displayName", job.name)
        props["services"] = {
            "Studio": {
                "jobServiceType": "Studio",
                "endpoint": f"{self.server.base_url}/studio/{job.name}",
            }
        }
        body.update(
            {
                "id": f"{arm_prefix}/jobs/{job.name}",
                "name": job.name,
                "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                "systemData": {"createdAt": _iso(job.created_wall), "createdBy": "cloudgd-fake"},
            }
        )
        return body

    def _jobs(
        self,
        ws: str,
        arm_prefix: str,
        parts: list[str],
        method: str,
        payload: dict[str, Any],
        query: dict[str, str],
    ) -> None:
        store = self.server.store
        if not parts and method == "GET":
            tag = query.get("tag")
            jobs = [
                self._job_body(job, arm_prefix)
                for job in store.list_jobs(ws)
                if tag is None or tag in (job.body.get("properties", {}).get("tags") or {})
            ]
            self._send(200, {"value": jobs})
            return
        name = parts[0] if parts else ""
        if len(parts) == 2 and parts[1] == "cancel" and method == "POST":
            job = store.cancel_job(ws, name)
            if job is None:
                self._error(404, "UserError", f"job {name} not found")
            else:
                self._send(202, raw=b"", headers={"Location": f"{self.server.base_url}/fake-done"})
            return
        if len(parts) != 1:
            self._error(404, "NotFound", f"no job route {'/'.join(parts)}")
            return
        if method == "GET":
            job = store.get_job(ws, name)
            if job is None:
                self._error(404, "UserError", f"job {name} not found")
            else:
                self._send(200, self._job_body(job, arm_prefix))
        elif method == "PUT":
            if store.get_job(ws, name) is not None:
                self._error(409, "UserError", f"a job named {name} already exists")
                return
            compute_id = str(payload.get("properties", {}).get("computeId") or "")
            compute = compute_id.rstrip("/").split("/")[-1]
            if compute and store.get_compute(ws, compute) is None:
                self._error(400, "UserError", f"compute {compute} not found in the workspace")
                return
            job = store.add_job(ws, name, payload)
            self._send(201, self._job_body(job, arm_prefix))
        else:
            self._error(405, "MethodNotAllowed", method)

    def _compute(
        self, ws: str, arm_prefix: str, name: str, method: str, payload: dict[str, Any]
    ) -> None:
        store = self.server.store
        if method == "PUT":
            body = {
                "id": f"{arm_prefix}/computes/{name}",
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/computes",
                "location": payload.get("location") or "eastus",
                "tags": payload.get("tags"),
                "properties": {**payload.get("properties", {}), "provisioningState": "Succeeded"},
            }
            store.put_compute(ws, name, body)
            self._send(200, body)
        elif method == "GET":
            found = store.get_compute(ws, name)
            if found is None:
                self._error(404, "ResourceNotFound", f"compute {name} not found")
            else:
                self._send(200, found)
        else:
            self._error(405, "MethodNotAllowed", method)

    def _asset(
        self,
        ws: str,
        arm_prefix: str,
        parts: list[str],
        method: str,
        payload: dict[str, Any],
        query: dict[str, str],
    ) -> None:
        store = self.server.store
        kind, name = parts[0], parts[1]
        if len(parts) == 3 and method == "GET":  # list versions, optionally by content hash
            wanted = query.get("hash")
            versions = [
                v
                for v in store.list_assets(ws, kind, name)
                if wanted is None
                or v["properties"].get("properties", {}).get("hash_sha256") == wanted
            ]
            self._send(200, {"value": versions})
            return
        version = parts[3] if len(parts) > 3 else ""
        asset_id = f"{arm_prefix}/{kind}/{name}/versions/{version}"
        if len(parts) == 5 and parts[4] == "startPendingUpload" and method == "POST":
            container = f"{self.server.plain_url}/{ACCOUNT}/{UPLOAD_CONTAINER}"
            self._send(
                200,
                {
                    "pendingUploadId": f"{name}-{version}",
                    "pendingUploadType": "TemporaryBlobReference",
                    "blobReferenceForConsumption": {
                        "blobUri": container,
                        "storageAccountArmId": f"{arm_prefix}/storage/{ACCOUNT}",
                        "credential": {
                            "credentialType": "SAS",
                            "sasUri": f"{container}?{FAKE_SAS}",
                        },
                    },
                },
            )
            return
        if len(parts) != 4:
            self._error(404, "NotFound", f"no asset route {'/'.join(parts)}")
            return
        if method == "PUT":
            body = {
                "id": asset_id,
                "name": version,
                "type": kind,
                "properties": payload.get("properties", {}),
            }
            body["properties"]["provisioningState"] = "Succeeded"
            store.put_asset(ws, kind, name, version, body)
            self._send(201, body)
        elif method == "GET":
            found = store.get_asset(ws, kind, name, version)
            if found is None:
                self._error(404, "UserError", f"{kind} {name}:{version} not found")
            else:
                self._send(200, found)
        else:
            self._error(405, "MethodNotAllowed", method)

    def _datastores(self, arm_prefix: str, parts: list[str], method: str) -> None:
        store = {
            "id": f"{arm_prefix}/datastores/workspaceblobstore",
            "name": "workspaceblobstore",
            "type": "Microsoft.MachineLearningServices/workspaces/datastores",
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": ACCOUNT,
                "containerName": UPLOAD_CONTAINER,
                "endpoint": "core.windows.net",
                "protocol": "https",
                "isDefault": True,
                "credentials": {"credentialsType": "None"},
            },
        }
        if not parts and method == "GET":
            self._send(200, {"value": [store]})
        elif parts == ["workspaceblobstore"] and method == "GET":
            self._send(200, store)
        else:
            self._error(404, "UserError", f"datastore {'/'.join(parts)} not found")

    # -- run history and logs ----------------------------------------------------
    def _history(self, path: str) -> None:
        match = _WS.match(path)
        parts = [p for p in ((match.group("rest") if match else "") or "").split("/") if p]
        if not match or len(parts) < 2 or parts[0] != "runs":
            self._error(404, "NotFound", f"no history route for {path}")
            return
        ws = "/".join(match.group("sub", "rg", "ws")).lower()
        store = self.server.store
        job = store.get_job(ws, parts[1])
        if job is None:
            self._error(404, "UserError", f"run {parts[1]} not found")
            return
        state, started, ended = store.job_state(job)
        details: dict[str, Any] = {
            "runId": job.name,
            "status": state,
            "createdTimeUtc": _iso(job.created_wall),
            "startTimeUtc": _iso(store.wall(job, started)),
            "endTimeUtc": _iso(store.wall(job, ended)),
            "logFiles": {
                "user_logs/std_log.txt": f"{self.server.base_url}/fake-logs/{ws}/{job.name}"
                f"/user_logs/std_log.txt?{FAKE_SAS}"
            },
        }
        if state == "Failed":
            details["error"] = {
                "error": {"code": "UserError", "message": "the job's process exited with 1"}
            }
        self._send(200, details)

    def _log_file(self, rest: str) -> None:
        *ws_parts, name, _folder, _file = rest.split("/")
        job = self.server.store.get_job("/".join(ws_parts), name)
        if job is None:
            self._error(404, "BlobNotFound", "no such log")
        else:
            text = self.server.store.job_log(job).encode()
            self._send(200, raw=text, content_type="text/plain")

    # -- blobs -----------------------------------------------------------------------
    def _blob(self, rest: str, query: dict[str, str], body: bytes) -> None:
        container, _, name = rest.partition("/")
        store = self.server.store
        if not name:
            if query.get("comp") == "list":
                self._list_blobs(container, query.get("prefix", ""))
            else:
                self._send(200, raw=b"", headers={"ETag": '"fake"'})
            return
        meta_headers = {
            k[len("x-ms-meta-") :]: v
            for k, v in self.headers.items()
            if k.lower().startswith("x-ms-meta-")
        }
        if self.command == "PUT" and query.get("comp") == "metadata":
            found = store.get_blob(container, name)
            if found is None:
                self._send(404, raw=b"", headers={"x-ms-error-code": "BlobNotFound"})
                return
            store.put_blob(container, name, found.data, meta_headers)
            self._send(200, raw=b"", headers={"ETag": '"fake"'})
        elif self.command == "PUT":
            store.put_blob(container, name, body, meta_headers)
            self._send(
                201, raw=b"", headers={"ETag": '"fake"', "x-ms-request-server-encrypted": "true"}
            )
        elif self.command in ("GET", "HEAD"):
            found = store.get_blob(container, name)
            if found is None:
                self._send(404, raw=b"", headers={"x-ms-error-code": "BlobNotFound"})
                return
            headers = {f"x-ms-meta-{k}": v for k, v in found.metadata.items()}
            headers.update({"x-ms-blob-type": "BlockBlob", "ETag": '"fake"'})
            headers["Last-Modified"] = found.modified.strftime("%a, %d %b %Y %H:%M:%S GMT")
            if self.command == "HEAD":
                headers["Content-Length"] = str(len(found.data))
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.server.log_line(f"HEAD {self.path} 200")
                return
            self._send(
                200, raw=found.data, headers=headers, content_type="application/octet-stream"
            )
        else:
            self._send(405, raw=b"")

    def _list_blobs(self, container: str, prefix: str) -> None:
        items = "".join(
            f"<Blob><Name>{escape(name)}</Name><Properties><Content-Length>{len(blob.data)}"
            f"</Content-Length><BlobType>BlockBlob</BlobType></Properties>"
            + "<Metadata>"
            + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in blob.metadata.items())
            + "</Metadata></Blob>"
            for name, blob in self.server.store.list_blobs(container, prefix)
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ContainerName="{escape(container)}">'
            f"<Prefix>{escape(prefix)}</Prefix>"
            f"<Blobs>{items}</Blobs><NextMarker /></EnumerationResults>"
        )
        self._send(200, raw=xml.encode(), content_type="application/xml")


def serve(host: str, port: int, store: FakeStore, request_log: Path | None = None) -> FakeAzureML:
    """Bind the fake (port 0 picks a free one); the caller runs ``serve_forever``."""
    if host not in ("127.0.0.1", "localhost"):
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


__all__ = ["TERMINAL", "FakeAzureML", "FakeStore", "main", "serve"]

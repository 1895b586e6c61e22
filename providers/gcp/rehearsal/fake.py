"""A fake Vertex AI + Cloud Storage + Cloud Logging REST service on 127.0.0.1.

The real ``aiplatform_v1.JobServiceClient`` (REST transport), ``google.cloud.storage``
and ``google.cloud.logging`` clients run unmodified against it:

- ``/v1/projects/{p}/locations/{l}/customJobs`` create (POST), list (GET, AIP-160
  ``AND`` filters on labels, display_name, state), ``.../customJobs/{id}`` get,
  ``...:cancel``; the same four for ``hyperparameterTuningJobs`` (trials in the
  body, see fake_tuning.py); camelCase JSON, enums as numbers when the client asks with
  ``$alt=json;enum-encoding=int``; states move over time (see fake_store.py).
- ``/v2/entries:list`` and ``/v2/entries:write`` (Cloud Logging): service messages
  for each job plus whatever was written for it.
- everything else goes to gcp-storage-emulator's router (GCS JSON API: buckets,
  multipart/resumable uploads, downloads), in memory or in ``--data-dir``.
- ``/_fake/...`` admin routes for tests: fail a job, inject transient errors.

Bounded: at most ``MAX_INFLIGHT`` requests are served at once (others get 503
UNAVAILABLE at once, which clients retry), bodies are capped, the store is capped.
Run detached with ``python -m providers.gcp.rehearsal.fake --host 127.0.0.1 --port 0
--ready-file F`` (cloudgd.servers contract); every request is logged to
``--request-log`` (default: stderr, which cloudgd.servers sends to its log file).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cloudgd.servers import serve_ready
from providers.gcp.rehearsal.fake_query import FakeError
from providers.gcp.rehearsal.fake_store import JobStore, Phases
from providers.gcp.rehearsal.fake_tuning import TRIAL_STATE_NUMBERS, TuningStore
from providers.gcp.states import STATE_NAMES_TO_NUMBERS

MAX_INFLIGHT = 16
MAX_BODY = 64 * 1024 * 1024  # the code bundle is the largest thing posted
_JOBS = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+)/customJobs$")
_JOB = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+/customJobs/\d+)(:cancel)?$")
_TUNINGS = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+)/hyperparameterTuningJobs$")
_TUNING = re.compile(
    r"^/v1/(projects/[^/]+/locations/[^/]+/hyperparameterTuningJobs/\d+)(:cancel)?$"
)
_FAIL = re.compile(r"^/_fake/(projects/[^/]+/locations/[^/]+/customJobs/\d+):fail$")
log = logging.getLogger("cloudgd.gcp.fake")


class _Faults:
    """Transient errors to inject into the next matching requests (for retry tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []

    def add(self, status: int, count: int, match: str) -> None:
        with self._lock:
            self._pending = [*self._pending, {"status": status, "count": count, "match": match}]
            del self._pending[:-16]

    def take(self, path: str) -> int | None:
        with self._lock:
            for fault in self._pending:
                if fault["count"] > 0 and fault["match"] in path:
                    fault["count"] -= 1
                    return int(fault["status"])
        return None


class FakeServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on concurrent handlers and the fake's state."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: JobStore, storage: Any) -> None:
        super().__init__(address, _Handler)
        self.store = store
        self.tuning = TuningStore(store)
        self.storage = storage
        self.storage_lock = threading.Lock()  # the emulator's store is not thread-safe
        self.faults = _Faults()
        self.slots = threading.BoundedSemaphore(MAX_INFLIGHT)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            # Refuse on the accept thread instead of spawning one more handler.
            try:
                _BusyHandler(request, client_address, self)
            except OSError:
                pass
            finally:
                self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer
    busy = False
    timeout = 30  # seconds a silent client may hold a handler
    _body_read = False
    _sent_status = 0

    @property
    def storage(self) -> Any:  # read by gcp-storage-emulator's Router
        return self.server.storage

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: _dispatch logs one line per request, with its status and time."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self._sent_status = code
        super().send_response(code, message)

    # -- plumbing ------------------------------------------------------------
    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise FakeError(413, "INVALID_ARGUMENT", f"request body over {MAX_BODY} bytes")
        raw = self.rfile.read(length) if length else b"{}"
        self._body_read = True
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise FakeError(400, "INVALID_ARGUMENT", "request body is not JSON") from None
        if not isinstance(body, dict):
            raise FakeError(400, "INVALID_ARGUMENT", "request body must be a JSON object")
        return body

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        split = urlsplit(self.path)
        path, query = unquote(split.path), parse_qs(split.query)
        try:
            if self.busy:
                raise FakeError(503, "UNAVAILABLE", "the fake is at its concurrency limit")
            injected = self.server.faults.take(path) if not path.startswith("/_fake") else None
            if injected:
                name = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}.get(injected, "INTERNAL")
                raise FakeError(injected, name, "injected transient error")
            if path.startswith(("/v1/", "/v2/entries:", "/_fake/")):
                self._reply(*self._api(method, path, query))
            else:
                self._storage(method)
        except FakeError as exc:
            self._drain()
            self._reply(exc.http, exc.body())
        elapsed = (time.monotonic() - started) * 1000
        log.info("%s %s -> %s (%.1f ms)", method, self.path, self._sent_status, elapsed)

    def _drain(self) -> None:
        """Read an unread body before an error reply, so closing does not reset the
        connection under the client's feet."""
        length = int(self.headers.get("Content-Length") or 0)
        if not self._body_read and 0 < length <= MAX_BODY:
            self.rfile.read(length)
            self._body_read = True

    def _storage(self, method: str) -> None:
        from gcp_storage_emulator.server import Router

        with self.server.storage_lock:
            Router(self).handle(method)

    # -- routes ----------------------------------------------------------------
    def _api(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, dict]:
        store = self.server.store
        int_enums = "enum-encoding=int" in ";".join(query.get("$alt", []))
        if (m := _JOBS.match(path)) and method == "POST":
            return 200, _encode(store.create(m.group(1), self._json_body()), int_enums)
        if (m := _JOBS.match(path)) and method == "GET":
            first = {k: v[0] for k, v in query.items()}
            page = store.list_jobs(
                m.group(1),
                first.get("filter", ""),
                int(first.get("pageSize") or 0),
                first.get("pageToken", ""),
            )
            page["customJobs"] = [_encode(j, int_enums) for j in page["customJobs"]]
            return 200, page
        if (m := _JOB.match(path)) and m.group(2) and method == "POST":
            store.cancel(m.group(1))
            return 200, {}
        if (m := _JOB.match(path)) and method == "GET":
            return 200, _encode(store.get(m.group(1)), int_enums)
        if path.startswith("/v1/") and "/hyperparameterTuningJobs" in path:
            return self._tuning_api(method, path, query, int_enums)
        if path == "/v2/entries:list" and method == "POST":
            body = self._json_body()
            return 200, store.list_entries(
                body.get("filter", ""),
                body.get("orderBy", ""),
                int(body.get("pageSize") or 0),
                body.get("pageToken", ""),
            )
        if path == "/v2/entries:write" and method == "POST":
            body = self._json_body()
            defaults: dict[str, Any] = {
                k: body[k] for k in ("logName", "resource", "labels") if k in body
            }
            store.write_entries([{**defaults, **e} for e in body.get("entries", [])])
            return 200, {}
        if (m := _FAIL.match(path)) and method == "POST":
            message = self._json_body().get("message", "the trainer exited with status 1")
            return 200, store.fail(m.group(1), message)
        if path == "/_fake/faults" and method == "POST":
            body = self._json_body()
            self.server.faults.add(int(body["status"]), int(body["count"]), body.get("match", ""))
            return 200, {}
        if path == "/_fake/health":
            return 200, {"ok": True}
        raise FakeError(404, "NOT_FOUND", f"no route for {method} {path}")

    def _tuning_api(
        self, method: str, path: str, query: dict[str, list[str]], int_enums: bool
    ) -> tuple[int, dict]:
        tuning = self.server.tuning
        if (m := _TUNINGS.match(path)) and method == "POST":
            return 200, _encode_tuning(tuning.create(m.group(1), self._json_body()), int_enums)
        if (m := _TUNINGS.match(path)) and method == "GET":
            first = {k: v[0] for k, v in query.items()}
            page = tuning.list_jobs(
                m.group(1),
                first.get("filter", ""),
                int(first.get("pageSize") or 0),
                first.get("pageToken", ""),
            )
            key = "hyperparameterTuningJobs"
            page[key] = [_encode_tuning(j, int_enums) for j in page[key]]
            return 200, page
        if (m := _TUNING.match(path)) and m.group(2) and method == "POST":
            tuning.cancel(m.group(1))
            return 200, {}
        if (m := _TUNING.match(path)) and method == "GET":
            return 200, _encode_tuning(tuning.get(m.group(1)), int_enums)
        raise FakeError(404, "NOT_FOUND", f"no route for {method} {path}")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


class _BusyHandler(_Handler):
    busy = True
    timeout = 5


def _encode(job: dict[str, Any], int_enums: bool) -> dict[str, Any]:
    """The job as the service sends it: state as a number when the client asked so."""
    if int_enums:
        return {**job, "state": STATE_NAMES_TO_NUMBERS.get(job["state"], 0)}
    return job


def _encode_tuning(job: dict[str, Any], int_enums: bool) -> dict[str, Any]:
    """A tuning job as sent: its state and its trials' states as numbers when asked."""
    if not int_enums:
        return job
    trials = [{**t, "state": TRIAL_STATE_NUMBERS[t["state"]]} for t in job.get("trials", [])]
    encoded = _encode(job, int_enums)
    if trials:
        encoded["trials"] = trials
    return encoded


def make_server(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    phases: Phases | None = None,
    store: JobStore | None = None,
    data_dir: str | None = None,
) -> FakeServer:
    """A bound (not yet serving) fake; call ``serve_forever`` in a thread to run it."""
    from gcp_storage_emulator.storage import Storage

    storage = Storage(use_memory_fs=data_dir is None, data_dir=data_dir)
    return FakeServer((host, port), store or JobStore(phases), storage)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--request-log", help="file for one line per request (default stderr)")
    parser.add_argument("--data-dir", help="keep uploaded objects here (default: in memory)")
    for phase, default in vars(Phases()).items():
        parser.add_argument(f"--{phase}-seconds", type=float, default=default)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the fake binds to the loopback interface only")
    handler: logging.Handler = (
        logging.FileHandler(args.request_log) if args.request_log else logging.StreamHandler()
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=[handler])
    phases = Phases(**{p: getattr(args, f"{p}_seconds") for p in vars(Phases())})
    server = make_server(args.host, args.port, phases=phases, data_dir=args.data_dir)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    serve_ready(args.ready_file, server.server_address[1])
    log.info("fake Vertex AI listening on http://%s:%s", args.host, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

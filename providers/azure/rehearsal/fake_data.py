"""Data-plane routes of the fake: run history, the job log files, and blobs.

Blobs are path-style (``/<account>/<container>/<name>``) like the Azurite
emulator, which azure-storage-blob uses for 127.0.0.1 URLs; authorization is
the SAS in the query string, which the fake accepts as is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from providers.azure.rehearsal.fake_common import FAKE_SAS, WS_PATH, iso

if TYPE_CHECKING:
    from providers.azure.rehearsal.fake import Handler
    from providers.azure.rehearsal.fake_store import FakeJob


def route_history(h: Handler, path: str) -> None:
    """Run details (status, times, the failure, the URLs of the job's log files), and a
    run's children: the trials of a sweep."""
    match = WS_PATH.match(path)
    parts = [p for p in ((match.group("rest") if match else "") or "").split("/") if p]
    if not match or parts[:1] != ["runs"] or parts[2:] not in ([], ["details"], ["children"]):
        h.fail(404, "NotFound", f"no history route for {path}")
        return
    ws = "/".join(match.group("sub", "rg", "ws")).lower()
    store = h.server.store
    job = store.get_job(ws, parts[1])
    if job is None:
        h.fail(404, "UserError", f"run {parts[1]} not found")
        return
    if parts[2:] == ["children"]:
        # One page: the service's continuation token is never needed for the fake's bounds.
        h.reply(200, {"value": [_run(h, child) for child in store.children(ws, job.name)]})
        return
    state, started, ended = store.job_state(job)
    details: dict[str, Any] = {
        "runId": job.name,
        "status": state,
        "createdTimeUtc": iso(job.created_wall),
        "startTimeUtc": iso(store.wall(job, started)),
        "endTimeUtc": iso(store.wall(job, ended)),
        "logFiles": {
            "user_logs/std_log.txt": f"{h.server.base_url}/fake-logs/{ws}/{job.name}"
            f"/user_logs/std_log.txt?{FAKE_SAS}"
        },
    }
    if state == "Failed":
        details["error"] = {
            "error": {"code": "UserError", "message": "the job's process exited with 1"}
        }
    h.reply(200, details)


def _run(h: Handler, job: FakeJob) -> dict[str, Any]:
    """A child run in run history's ``Run`` shape."""
    store = h.server.store
    state, started, ended = store.job_state(job)
    props = job.body.get("properties", {})
    return {
        "runId": job.name,
        "parentRunId": job.parent,
        "rootRunId": job.parent or job.name,
        "experimentId": props.get("experimentName") or "Default",
        "displayName": job.name,
        "status": state,
        "createdUtc": iso(job.created_wall),
        "startTimeUtc": iso(store.wall(job, started)),
        "endTimeUtc": iso(store.wall(job, ended)),
        "runType": "azureml.scriptrun",
        "tags": {},
        "properties": {},
    }


def route_log_file(h: Handler, rest: str) -> None:
    """The text of a job's log file, as far as the job has come."""
    *ws_parts, name, _folder, _file = rest.split("/")
    job = h.server.store.get_job("/".join(ws_parts), name)
    if job is None:
        h.fail(404, "BlobNotFound", "no such log")
    else:
        text = h.server.store.job_log(job).encode()
        h.reply(200, raw=text, content_type="text/plain")


# -- blobs -----------------------------------------------------------------------


def route_blob(h: Handler, rest: str, query: dict[str, str], body: bytes) -> None:
    """Blob HEAD/GET/PUT, metadata and container listing."""
    container, _, name = rest.partition("/")
    store = h.server.store
    if not name:
        if query.get("comp") == "list":
            _list_blobs(h, container, query.get("prefix", ""))
        else:
            h.reply(200, raw=b"", headers={"ETag": '"fake"'})
        return
    meta_headers = {
        k[len("x-ms-meta-") :]: v
        for k, v in h.headers.items()
        if k.lower().startswith("x-ms-meta-")
    }
    if h.command == "PUT" and query.get("comp") == "metadata":
        found = store.get_blob(container, name)
        if found is None:
            h.reply(404, raw=b"", headers={"x-ms-error-code": "BlobNotFound"})
            return
        store.put_blob(container, name, found.data, meta_headers)
        h.reply(200, raw=b"", headers={"ETag": '"fake"'})
    elif h.command == "PUT":
        store.put_blob(container, name, body, meta_headers)
        h.reply(201, raw=b"", headers={"ETag": '"fake"', "x-ms-request-server-encrypted": "true"})
    elif h.command in ("GET", "HEAD"):
        found = store.get_blob(container, name)
        if found is None:
            h.reply(404, raw=b"", headers={"x-ms-error-code": "BlobNotFound"})
            return
        headers = {f"x-ms-meta-{k}": v for k, v in found.metadata.items()}
        headers.update({"x-ms-blob-type": "BlockBlob", "ETag": '"fake"'})
        headers["Last-Modified"] = found.modified.strftime("%a, %d %b %Y %H:%M:%S GMT")
        if h.command == "HEAD":
            headers["Content-Length"] = str(len(found.data))
            h.send_response(200)
            for key, value in headers.items():
                h.send_header(key, value)
            h.end_headers()
            h.server.log_line(f"HEAD {h.path} 200")
            return
        wanted = h.headers.get("x-ms-range") or h.headers.get("Range")
        if wanted and wanted.startswith("bytes="):
            # Ranged GET, as azure-storage-blob's download_blob sends: 206 + Content-Range.
            first, _, last = wanted[len("bytes=") :].partition("-")
            start = int(first)
            end = min(int(last) if last else len(found.data) - 1, len(found.data) - 1)
            if not found.data:
                end = -1
            headers["Content-Range"] = f"bytes {start}-{max(end, start)}/{len(found.data)}"
            part = found.data[start : end + 1]
            h.reply(206, raw=part, headers=headers, content_type="application/octet-stream")
            return
        h.reply(200, raw=found.data, headers=headers, content_type="application/octet-stream")
    else:
        h.reply(405, raw=b"")


def _list_blobs(h: Handler, container: str, prefix: str) -> None:
    items = "".join(
        f"<Blob><Name>{escape(name)}</Name><Properties><Content-Length>{len(blob.data)}"
        f"</Content-Length><BlobType>BlockBlob</BlobType></Properties>"
        + "<Metadata>"
        + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in blob.metadata.items())
        + "</Metadata></Blob>"
        for name, blob in h.server.store.list_blobs(container, prefix)
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<EnumerationResults ContainerName="{escape(container)}">'
        f"<Prefix>{escape(prefix)}</Prefix>"
        f"<Blobs>{items}</Blobs><NextMarker /></EnumerationResults>"
    )
    h.reply(200, raw=xml.encode(), content_type="application/xml")

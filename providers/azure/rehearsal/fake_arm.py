"""ARM routes of the fake Azure ML service: workspace, jobs, computes, assets, datastores.

Bodies follow Azure's REST shapes closely enough for azure-ai-ml to deserialize
them; a job's ``status`` comes from the store's clock, not from what was PUT.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from providers.azure.rehearsal.fake_common import ACCOUNT, FAKE_SAS, UPLOAD_CONTAINER, WS_PATH, iso
from providers.azure.rehearsal.fake_store import FakeJob

if TYPE_CHECKING:
    from providers.azure.rehearsal.fake import Handler


def route_arm(h: Handler, path: str, query: dict[str, str], body: bytes) -> None:
    """Everything under ``/subscriptions/.../workspaces/<ws>``."""
    match = WS_PATH.match(path)
    if not match:
        h.fail(404, "NotFound", f"no route for {path}")
        return
    scope = "/".join(match.group("sub", "rg", "ws"))
    ws = scope.lower()
    arm_prefix = path[: len(path) - len(match.group("rest") or "")]
    parts = [p for p in (match.group("rest") or "").split("/") if p]
    method = h.command
    payload = json.loads(body) if body else {}
    if not parts:
        h.reply(200, _workspace(h, arm_prefix, match.group("ws")))
    elif parts[0] == "jobs":
        _jobs(h, ws, arm_prefix, parts[1:], method, payload, query)
    elif parts[0] == "computes" and len(parts) == 2:
        _compute(h, ws, arm_prefix, parts[1], method, payload)
    elif parts[0] in ("codes", "environments") and len(parts) >= 3:
        _asset(h, ws, arm_prefix, parts, method, payload, query)
    elif parts[0] == "datastores":
        _datastores(h, arm_prefix, parts[1:], method)
    else:
        h.fail(404, "NotFound", f"the fake does not serve {path}")


def _workspace(h: Handler, arm_prefix: str, name: str) -> dict[str, Any]:
    return {
        "id": arm_prefix,
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": "eastus",
        "properties": {
            "friendlyName": name,
            "discoveryUrl": f"{h.server.base_url}/discovery/{name}",
            "provisioningState": "Succeeded",
        },
    }


def discovery(h: Handler) -> dict[str, str]:
    """Workspace discovery: every data-plane service lives on the fake itself."""
    base = h.server.base_url
    return {
        key: base for key in ("api", "catalog", "experimentation", "history", "modelmanagement")
    }


def _job_body(h: Handler, job: FakeJob, arm_prefix: str) -> dict[str, Any]:
    store = h.server.store
    state, _, _ = store.job_state(job)
    body = json.loads(json.dumps(job.body))
    props = body.setdefault("properties", {})
    props["status"] = state
    props.setdefault("displayName", job.name)
    if props.get("jobType") == "Sweep" and state == "Completed":
        props["properties"] = {**(props.get("properties") or {}), **store.sweep_result(job)}
    props["services"] = {
        "Studio": {
            "jobServiceType": "Studio",
            "endpoint": f"{h.server.base_url}/studio/{job.name}",
        }
    }
    body.update(
        {
            "id": f"{arm_prefix}/jobs/{job.name}",
            "name": job.name,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "systemData": {"createdAt": iso(job.created_wall), "createdBy": "cloudgd-fake"},
        }
    )
    return body


def _jobs(
    h: Handler,
    ws: str,
    arm_prefix: str,
    parts: list[str],
    method: str,
    payload: dict[str, Any],
    query: dict[str, str],
) -> None:
    store = h.server.store
    if not parts and method == "GET":
        tag = query.get("tag")
        jobs = [
            _job_body(h, job, arm_prefix)
            for job in store.list_jobs(ws)
            if tag is None or tag in (job.body.get("properties", {}).get("tags") or {})
        ]
        h.reply(200, {"value": jobs})
        return
    name = parts[0] if parts else ""
    if len(parts) == 2 and parts[1] == "cancel" and method == "POST":
        job = store.cancel_job(ws, name)
        if job is None:
            h.fail(404, "UserError", f"job {name} not found")
        else:
            h.reply(202, raw=b"", headers={"Location": f"{h.server.base_url}/fake-done"})
        return
    if len(parts) != 1:
        h.fail(404, "NotFound", f"no job route {'/'.join(parts)}")
        return
    if method == "GET":
        job = store.get_job(ws, name)
        if job is None:
            h.fail(404, "UserError", f"job {name} not found")
        else:
            h.reply(200, _job_body(h, job, arm_prefix))
    elif method == "PUT":
        if store.get_job(ws, name) is not None:
            h.fail(409, "UserError", f"a job named {name} already exists")
            return
        compute_id = str(payload.get("properties", {}).get("computeId") or "")
        compute = compute_id.rstrip("/").split("/")[-1]
        if compute and store.get_compute(ws, compute) is None:
            h.fail(400, "UserError", f"compute {compute} not found in the workspace")
            return
        job = store.add_job(ws, name, payload)
        h.reply(201, _job_body(h, job, arm_prefix))
    else:
        h.fail(405, "MethodNotAllowed", method)


def _compute(
    h: Handler, ws: str, arm_prefix: str, name: str, method: str, payload: dict[str, Any]
) -> None:
    store = h.server.store
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
        h.reply(200, body)
    elif method == "GET":
        found = store.get_compute(ws, name)
        if found is None:
            h.fail(404, "ResourceNotFound", f"compute {name} not found")
        else:
            h.reply(200, found)
    else:
        h.fail(405, "MethodNotAllowed", method)


def _asset(
    h: Handler,
    ws: str,
    arm_prefix: str,
    parts: list[str],
    method: str,
    payload: dict[str, Any],
    query: dict[str, str],
) -> None:
    store = h.server.store
    kind, name = parts[0], parts[1]
    if len(parts) == 3 and method == "GET":  # list versions, optionally by content hash
        wanted = query.get("hash")
        versions = [
            v
            for v in store.list_assets(ws, kind, name)
            if wanted is None or v["properties"].get("properties", {}).get("hash_sha256") == wanted
        ]
        h.reply(200, {"value": versions})
        return
    version = parts[3] if len(parts) > 3 else ""
    asset_id = f"{arm_prefix}/{kind}/{name}/versions/{version}"
    if len(parts) == 5 and parts[4] == "startPendingUpload" and method == "POST":
        container = f"{h.server.plain_url}/{ACCOUNT}/{UPLOAD_CONTAINER}"
        h.reply(
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
        h.fail(404, "NotFound", f"no asset route {'/'.join(parts)}")
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
        h.reply(201, body)
    elif method == "GET":
        found = store.get_asset(ws, kind, name, version)
        if found is None:
            h.fail(404, "UserError", f"{kind} {name}:{version} not found")
        else:
            h.reply(200, found)
    else:
        h.fail(405, "MethodNotAllowed", method)


def _datastores(h: Handler, arm_prefix: str, parts: list[str], method: str) -> None:
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
        h.reply(200, {"value": [store]})
    elif parts == ["workspaceblobstore"] and method == "GET":
        h.reply(200, store)
    else:
        h.fail(404, "UserError", f"datastore {'/'.join(parts)} not found")

"""A Vertex AI job resource (custom or tuning: they share these fields) as a JobStatus."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cloudgd.plan import JobHandle, JobStatus
from providers.gcp.states import job_state, state_name

CONSOLE = (
    "https://console.cloud.google.com/agent-platform/locations/{loc}/training/{id}?project={p}"
)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def job_handle(job: dict[str, Any], endpoint: str | None) -> str:
    """The handle of a Vertex job resource (with the fake's address on a rehearsal)."""
    _, project, _, location, _, job_id = job["name"].split("/")
    params = {"backend": "fake", "endpoint": endpoint} if endpoint else {}
    return str(JobHandle(provider="gcp", parts=(project, location, job_id), params=params))


def vertex_status(job: dict[str, Any], endpoint: str | None, console: str = CONSOLE) -> JobStatus:
    """A Vertex job resource (custom or tuning: they share these fields) as a JobStatus;
    ``console`` is the Cloud console URL pattern of its kind."""
    raw = state_name(job.get("state"))
    _, project, _, location, _, job_id = job["name"].split("/")
    return JobStatus(
        handle=job_handle(job, endpoint),
        name=job.get("displayName", job_id),
        state=job_state(raw),
        raw_state=raw,
        message=(job.get("error") or {}).get("message") or None,
        created_at=_time(job.get("createTime")),
        started_at=_time(job.get("startTime")),
        ended_at=_time(job.get("endTime")),
        console_url=None if endpoint else console.format(loc=location, id=job_id, p=project),
        extra={"job_id": job_id, "resource_name": job["name"]},
    )

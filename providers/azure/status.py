"""An Azure ML job (and its run-history details, when read) as a JobStatus."""

from __future__ import annotations

from typing import Any

from cloudgd.errors import JobNotFoundError
from cloudgd.plan import JobHandle, JobStatus
from providers.azure.states import job_state
from providers.azure.views import JobView, RunView


def find_job(client: Any, handle: JobHandle) -> JobView:
    """The handle's job; JobNotFoundError naming the workspace when there is none."""
    job: JobView | None = client.get_job(handle.job)
    if job is None:
        raise JobNotFoundError(
            f"Azure ML has no job {handle.job} in workspace {handle.parts[2]}",
            hint="check the handle; `cloudgd list --provider azure` shows cloudgd's jobs",
        )
    return job


def job_status(job: JobView, run: RunView | None, handle: JobHandle) -> JobStatus:
    """The job (and its run-history details, when read) as a JobStatus."""
    return JobStatus(
        handle=str(handle),
        name=job.name,
        state=job_state(job.status),
        raw_state=job.status,
        message=run.error if run else None,
        created_at=job.created_at,
        started_at=run.started_at if run else None,
        ended_at=run.ended_at if run else None,
        console_url=job.studio_url,
        extra={"compute": job.compute} if job.compute else {},
    )


def read_status(client: Any, handle: JobHandle, *, with_run: bool = True) -> JobStatus:
    """The handle's job status, with run-history details unless ``with_run`` is False."""
    job = find_job(client, handle)
    return job_status(job, client.run(handle.job) if with_run else None, handle)

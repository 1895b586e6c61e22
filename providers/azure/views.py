"""Plain views of Azure ML objects: what the client hands back, SDK-free.

The ``*_view`` functions read an SDK object by its attributes alone (they import no SDK).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class JobView:
    """What cloudgd needs of an Azure ML job."""

    name: str
    status: str | None
    created_at: datetime | None
    tags: dict[str, str]
    studio_url: str | None
    compute: str | None
    # Service-set job properties: a finished sweep's best_child_run_id and score.
    properties: dict[str, str] = field(default_factory=dict)
    kind: str | None = None  # the job's type: "command", "sweep", ...


@dataclass(frozen=True)
class TrialView:
    """One trial of a sweep: a child job, as run history lists it."""

    name: str
    status: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class RunView:
    """Run-history details: timing, the failure if any, and the log files' URLs."""

    status: str | None
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None
    log_files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ComputeView:
    """An AmlCompute cluster as it exists in the workspace."""

    name: str
    size: str | None
    tier: str | None
    min_instances: int | None
    max_instances: int | None


def trial_number(name: str) -> tuple[int, str]:
    """Trials are named ``<sweep>_<n>``: sort by n, then by name for anything else."""
    head, _, tail = name.rpartition("_")
    return (int(tail), head) if head and tail.isdigit() else (-1, name)


def first_line(text: str) -> str:
    """The first non-blank line of an SDK message, at most 300 characters."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0][:300] if lines else "no details"


def job_view(job: Any) -> JobView:
    """An SDK job (any type) as a JobView."""
    created = getattr(job, "creation_context", None)
    return JobView(
        name=job.name,
        status=job.status,
        created_at=getattr(created, "created_at", None),
        tags=dict(job.tags or {}),
        studio_url=getattr(job, "studio_url", None),
        compute=getattr(job, "compute", None),
        properties={str(k): str(v) for k, v in (getattr(job, "properties", {}) or {}).items()},
        kind=getattr(job, "type", None),
    )


def run_view(details: Any) -> RunView:
    """Run-history details (``get_run_details``) as a RunView."""
    error = None
    if details.error is not None and details.error.error is not None:
        error = first_line(details.error.error.message or details.error.error.code or "")
    return RunView(
        status=details.status,
        started_at=details.start_time_utc,
        ended_at=details.end_time_utc,
        error=error,
        log_files=dict(details.log_files or {}),
    )


def compute_view(found: Any) -> ComputeView:
    """An SDK AmlCompute as a ComputeView."""
    return ComputeView(
        name=found.name,
        size=getattr(found, "size", None),
        tier=getattr(found, "tier", None),
        min_instances=getattr(found, "min_instances", None),
        max_instances=getattr(found, "max_instances", None),
    )

"""Plain views of Azure ML objects: what the client hands back, SDK-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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

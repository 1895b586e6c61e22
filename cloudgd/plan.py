"""Planning types shared by every provider: what a dry run shows and submit sends.

``Provider.plan(spec, ctx)`` is pure: everything it may not compute itself (time,
idempotency key, bundle hash, user-level settings) comes in through
:class:`RenderContext`. The resulting :class:`Plan` serialises byte-identically
for the same inputs; golden tests rely on that.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from cloudgd import __version__
from cloudgd.errors import UsageError
from cloudgd.registry import LOCAL

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class BundleRef(BaseModel):
    """The deterministic code bundle a cloud job ships (built before planning)."""

    model_config = _FROZEN

    path: str = Field(description="Local path of the built archive.")
    sha256: str = Field(description="Hex SHA-256 of the archive bytes.")
    filename: str = Field(
        description="Content-addressed file name, e.g. cloudgd-bundle-3f2a9c.tar.gz."
    )
    format: str = Field(description="Archive format: 'tar.gz' or 'sdist'.")
    requires: list[str] = Field(
        default_factory=list,
        description="The requirement lines of a script job's own requirements file, which "
        "the bundle declares (requirements.txt, the sdist's install_requires); a renderer "
        "that must list them (Azure ML's conda environment) reads them here, not the file.",
    )


class RenderContext(BaseModel):
    """Every impure input a provider's ``plan()`` may use, passed in explicitly."""

    model_config = _FROZEN

    now: datetime = Field(description="The submission time used for labels and names (UTC).")
    idempotency_key: str | None = Field(
        default=None, description="Key mixed into the job name so CI re-runs attach to one job."
    )
    bundle: BundleRef | None = Field(
        default=None, description="The code bundle to upload, when the job uses a prebuilt image."
    )
    cloudgd_version: str = Field(default=__version__, description="Version recorded in job tags.")
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="User-level provider settings (e.g. from `cloudgd config from-terraform`).",
    )
    runs_dir: str | None = Field(
        default=None, description="Local runs directory (local provider and --run-local)."
    )
    spec_dir: str | None = Field(
        default=None,
        description="The job file's directory: a relative code: or local trainer.data.uri "
        "resolves from it, never from the current directory.",
    )


class Upload(BaseModel):
    """A file to copy to cloud storage before the job is created (described, not done)."""

    model_config = _FROZEN

    source: str = Field(description="Local path of the file to upload.")
    destination: str = Field(description="Target URI: s3://, gs:// or azureml:// .")
    sha256: str | None = Field(default=None, description="Content hash, to skip re-uploads.")
    purpose: str = Field(default="code", description="What the file is for: code, data, config.")


class Plan(BaseModel):
    """The exact request a provider will send, with what must happen first."""

    model_config = _FROZEN

    provider: str = Field(description="Provider name: aws, gcp, azure, local.")
    operation: str = Field(description="Wire operation, e.g. sagemaker:CreateTrainingJob.")
    request: dict[str, Any] = Field(description="The wire request, exactly as it will be sent.")
    uploads: list[Upload] = Field(default_factory=list, description="Uploads to do first.")
    handle: str = Field(description="The job handle URI the job will have once submitted.")
    job_name: str = Field(description="Deterministic job name (spec hash + idempotency key).")
    summary: dict[str, Any] = Field(
        default_factory=dict, description="Human summary: instance, nodes, accelerator, caps."
    )
    extra_requests: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Further requests sent before the job (e.g. an Azure compute cluster), "
        "each {'operation': ..., 'request': ...}.",
    )

    def to_json(self) -> str:
        """Byte-stable JSON (sorted keys, fixed separators, trailing newline)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"


class JobState(StrEnum):
    """Provider-independent job state. Terminal: SUCCEEDED, FAILED, CANCELLED."""

    PENDING = "PENDING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"

    @property
    def terminal(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


def map_state(table: dict[str, JobState], raw: str | None) -> JobState:
    """Normalise a provider's raw state through its table; unknown → UNKNOWN."""
    if raw is None:
        return JobState.UNKNOWN
    return table.get(raw, JobState.UNKNOWN)


class JobStatus(BaseModel):
    """What `status` reports; the same shape for every provider."""

    model_config = _FROZEN

    handle: str = Field(description="Job handle URI.")
    name: str = Field(description="Job name.")
    state: JobState = Field(description="Normalised state.")
    raw_state: str | None = Field(default=None, description="The provider's own state string.")
    message: str | None = Field(default=None, description="Failure reason or secondary status.")
    created_at: datetime | None = Field(default=None, description="When the job was created.")
    started_at: datetime | None = Field(default=None, description="When it started running.")
    ended_at: datetime | None = Field(default=None, description="When it ended.")
    exit_code: int | None = Field(default=None, description="Process exit code (local).")
    billable_seconds: int | None = Field(default=None, description="Billed time, if reported.")
    metrics: dict[str, float] = Field(default_factory=dict, description="Final metrics, if known.")
    console_url: str | None = Field(default=None, description="Link to the cloud console.")
    extra: dict[str, Any] = Field(default_factory=dict, description="Provider-specific details.")


class JobHandle(BaseModel):
    """A job's address as a URI: ``<provider>://<location parts>/<job>[?k=v]``.

    Examples: ``aws://us-east-1/digits-3f2a9c``, ``gcp://proj/us-central1/123456``,
    ``azure://sub/rg/ws/digits-3f2a9c``, ``local:///home/me/.cloudgd/runs/digits-3f2a9c``.
    Query parameters carry rehearsal details (``backend=moto``, ``run=/path``) so
    a later CLI invocation can follow a job with no local database.
    """

    model_config = _FROZEN

    provider: str = Field(description="Provider name (the URI scheme).")
    parts: tuple[str, ...] = Field(description="Path parts after the scheme; the last is the job.")
    params: dict[str, str] = Field(default_factory=dict, description="Query parameters.")

    @property
    def job(self) -> str:
        return self.parts[-1]

    @classmethod
    def parse(cls, uri: str) -> JobHandle:
        try:
            split = urlsplit(uri)
        except ValueError as exc:  # an unclosed [IPv6 bracket, a bad port
            raise UsageError(f"not a job handle: {uri!r} ({exc})") from None
        if not split.scheme or "://" not in uri:
            raise UsageError(
                f"not a job handle: {uri!r}",
                hint="handles look like aws://us-east-1/my-job or local:///path/to/run",
            )
        if split.scheme == LOCAL:  # one part: the run directory's absolute path
            parts: tuple[str, ...] = (split.path,)
        else:
            parts = tuple(p for p in (split.netloc + split.path).split("/") if p)
        if not parts or not parts[-1]:
            raise UsageError(f"job handle {uri!r} names no job")
        return cls(provider=split.scheme, parts=parts, params=dict(parse_qsl(split.query)))

    def __str__(self) -> str:
        query = f"?{urlencode(sorted(self.params.items()))}" if self.params else ""
        if self.provider == LOCAL:
            return f"{LOCAL}://{self.parts[0]}{query}"
        return f"{self.provider}://{'/'.join(self.parts)}{query}"

"""Turn a HANDLE argument into (provider, JobHandle) with no local database.

A handle is a URI (``aws://us-east-1/job?backend=moto&endpoint=...``); its query
carries what a fresh process needs to reconnect. For local runs the run
directory, or a run's name under the runs directory, is accepted as well.
"""

from __future__ import annotations

from pathlib import Path

from cloudgd.errors import JobFailedError
from cloudgd.home import runs_dir
from cloudgd.plan import JobHandle, JobState, JobStatus
from providers.base import Provider


def parse_handle(text: str) -> JobHandle:
    """A handle URI, a local run directory, or a run name under the runs directory."""
    if "://" not in text:
        for candidate in (Path(text), runs_dir() / text):
            if text and candidate.is_dir():
                return JobHandle(provider="local", parts=(str(candidate.resolve()),))
    return JobHandle.parse(text)


def default_poll(provider: Provider) -> float:
    """Seconds between status checks: local runs are cheap to ask, clouds rate-limit."""
    return 1.0 if provider.name == "local" else 10.0


def open_handle(text: str) -> tuple[Provider, JobHandle]:
    """The provider that owns the job, configured from the handle's query."""
    from cloudgd import registry

    handle = parse_handle(text)
    provider = registry.create(
        handle.provider,
        backend=handle.params.get("backend", "cloud"),
        endpoint=handle.params.get("endpoint"),
    )
    from cloudgd.tuning.handle import is_tuning

    if is_tuning(handle):
        from cloudgd.tuning.follow import TuningFollower

        return TuningFollower(provider), handle
    return provider, handle


def check_outcome(status: JobStatus) -> None:
    """Exit 4 when a waited-for job did not succeed."""
    if status.state in (JobState.FAILED, JobState.CANCELLED):
        reason = f": {status.message}" if status.message else ""
        raise JobFailedError(
            f"job {status.name} ended {status.state.value}{reason}",
            hint=f"see the logs: cloudgd logs '{status.handle}'",
        )

"""The local run's own states (as written to ``state.json``) and their JobState mapping.

The supervisor writes these lower-case strings; they are the local provider's
"raw state", kept in ``JobStatus.raw_state`` like a cloud's own status string.
"""

from __future__ import annotations

from cloudgd.plan import JobState, map_state

PENDING = "pending"  # run dir written, supervisor not yet up
STARTING = "starting"  # supervisor up, ranks being launched
RUNNING = "running"  # ranks launched
STOPPING = "stopping"  # cancel requested or a rank failed: ranks being stopped
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})

STATE_TABLE: dict[str, JobState] = {
    PENDING: JobState.PENDING,
    STARTING: JobState.STARTING,
    RUNNING: JobState.RUNNING,
    STOPPING: JobState.STOPPING,
    SUCCEEDED: JobState.SUCCEEDED,
    FAILED: JobState.FAILED,
    CANCELLED: JobState.CANCELLED,
}


def to_job_state(raw: str | None) -> JobState:
    """Normalise a raw local state; anything unrecognised becomes UNKNOWN."""
    return map_state(STATE_TABLE, raw)

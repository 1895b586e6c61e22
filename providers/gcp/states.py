"""Vertex AI ``JobState`` values → cloudgd's JobState.

The REST API sends enums as names, or as numbers when the request asks for
``$alt=json;enum-encoding=int`` (what the aiplatform_v1 REST transport does), so
both spellings are accepted. EXPIRED (a queued job that never got capacity) and
PARTIALLY_SUCCEEDED (some trials failed) are failures for a training job: its
work did not finish.
"""

from __future__ import annotations

from cloudgd.plan import JobState, map_state

VERTEX_STATES: dict[str, JobState] = {
    "JOB_STATE_QUEUED": JobState.PENDING,
    "JOB_STATE_PENDING": JobState.STARTING,
    "JOB_STATE_RUNNING": JobState.RUNNING,
    "JOB_STATE_SUCCEEDED": JobState.SUCCEEDED,
    "JOB_STATE_FAILED": JobState.FAILED,
    "JOB_STATE_CANCELLING": JobState.STOPPING,
    "JOB_STATE_CANCELLED": JobState.CANCELLED,
    "JOB_STATE_PAUSED": JobState.PENDING,
    "JOB_STATE_EXPIRED": JobState.FAILED,
    "JOB_STATE_UPDATING": JobState.RUNNING,
    "JOB_STATE_PARTIALLY_SUCCEEDED": JobState.FAILED,
}

# google.cloud.aiplatform.v1.JobState numbering (job_state.proto).
STATE_NUMBERS: dict[int, str] = {
    0: "JOB_STATE_UNSPECIFIED",
    1: "JOB_STATE_QUEUED",
    2: "JOB_STATE_PENDING",
    3: "JOB_STATE_RUNNING",
    4: "JOB_STATE_SUCCEEDED",
    5: "JOB_STATE_FAILED",
    6: "JOB_STATE_CANCELLING",
    7: "JOB_STATE_CANCELLED",
    8: "JOB_STATE_PAUSED",
    9: "JOB_STATE_EXPIRED",
    10: "JOB_STATE_UPDATING",
    11: "JOB_STATE_PARTIALLY_SUCCEEDED",
}
STATE_NAMES_TO_NUMBERS = {name: number for number, name in STATE_NUMBERS.items()}

# States from which a resubmission must not attach to the old job.
RETRYABLE_ENDINGS = frozenset(
    {"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_CANCELLING", "JOB_STATE_EXPIRED"}
)


def state_name(raw: str | int | None) -> str | None:
    """The JOB_STATE_* name of a raw state given as a name or its enum number."""
    if raw is None:
        return None
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        return STATE_NUMBERS.get(int(raw), str(raw))
    return raw


def job_state(raw: str | int | None) -> JobState:
    """The normalised state; unknown values become UNKNOWN (the raw value is kept elsewhere)."""
    return map_state(VERTEX_STATES, state_name(raw))

"""Azure ML job status strings → cloudgd's JobState.

The strings are the service's ``JobStatus`` values (azure.ai.ml.constants.JobStatus):
a job waits (NotStarted, Queued), gets machines and an image (Starting,
Provisioning, Preparing), runs (Running), uploads outputs (Finalizing) and ends.
"""

from __future__ import annotations

from cloudgd.plan import JobState, map_state

AZURE_STATES: dict[str, JobState] = {
    "NotStarted": JobState.PENDING,
    "Queued": JobState.PENDING,
    "Paused": JobState.PENDING,
    "Starting": JobState.STARTING,
    "Provisioning": JobState.STARTING,
    "Preparing": JobState.STARTING,
    "Running": JobState.RUNNING,
    "Finalizing": JobState.RUNNING,
    "NotResponding": JobState.RUNNING,
    "CancelRequested": JobState.STOPPING,
    "Completed": JobState.SUCCEEDED,
    "Failed": JobState.FAILED,
    "Canceled": JobState.CANCELLED,
}


def job_state(raw: str | None) -> JobState:
    """The normalised state; an unknown string (or ``Unknown``) becomes UNKNOWN."""
    return map_state(AZURE_STATES, raw)

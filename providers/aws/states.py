"""SageMaker training job states → cloudgd's JobState.

``TrainingJobStatus`` is coarse (InProgress covers provisioning, downloading and
training), so while a job is in progress its ``SecondaryStatus`` picks the state;
the secondary status is also kept in the status message. A job stopped by its own
time caps (MaxRuntimeExceeded, MaxWaitTimeExceeded) ends FAILED, not CANCELLED:
nobody asked for it to stop, and its work is incomplete.
"""

from __future__ import annotations

from cloudgd.plan import JobState, map_state

PRIMARY: dict[str, JobState] = {
    "InProgress": JobState.RUNNING,
    "Completed": JobState.SUCCEEDED,
    "Failed": JobState.FAILED,
    "Stopping": JobState.STOPPING,
    "Stopped": JobState.CANCELLED,
}

IN_PROGRESS: dict[str, JobState] = {
    "Pending": JobState.PENDING,
    "Interrupted": JobState.PENDING,  # spot capacity reclaimed; waiting to resume
    "Starting": JobState.STARTING,
    "LaunchingMLInstances": JobState.STARTING,
    "PreparingTrainingStack": JobState.STARTING,
    "Downloading": JobState.STARTING,
    "DownloadingTrainingImage": JobState.STARTING,
    "Restarting": JobState.STARTING,
    "Training": JobState.RUNNING,
    "Uploading": JobState.RUNNING,
    "Updating": JobState.RUNNING,
    "Stopping": JobState.STOPPING,
}

CAPPED = {"MaxRuntimeExceeded", "MaxWaitTimeExceeded"}


def job_state(primary: str | None, secondary: str | None) -> JobState:
    """The normalised state of a job from DescribeTrainingJob's two status fields."""
    state = map_state(PRIMARY, primary)
    if state is JobState.RUNNING and secondary in IN_PROGRESS:
        return IN_PROGRESS[secondary]
    if state is JobState.CANCELLED and secondary in CAPPED:
        return JobState.FAILED
    return state


def status_message(
    primary: str | None, secondary: str | None, failure_reason: str | None
) -> str | None:
    """One line for people: the failure reason, else the secondary status when it adds one."""
    if failure_reason:
        return failure_reason.strip()
    if secondary in CAPPED:
        return f"stopped by its time cap ({secondary})"
    if secondary and secondary != primary:
        return secondary
    return None


def job_status_fields(
    primary: str | None, secondary: str | None, failure_reason: str | None
) -> tuple[JobState, str | None]:
    """(state, message) for a JobStatus."""
    return job_state(primary, secondary), status_message(primary, secondary, failure_reason)

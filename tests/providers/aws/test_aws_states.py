"""SageMaker's two status fields → one JobState, with the detail kept for people."""

from __future__ import annotations

import pytest

from cloudgd.plan import JobState
from providers.aws.states import job_state, status_message
from providers.aws.status import console_url


@pytest.mark.parametrize(
    ("primary", "secondary", "state"),
    [
        ("InProgress", "Starting", JobState.STARTING),
        ("InProgress", "DownloadingTrainingImage", JobState.STARTING),
        ("InProgress", "Training", JobState.RUNNING),
        ("InProgress", "Interrupted", JobState.PENDING),
        ("InProgress", "SomethingNew", JobState.RUNNING),
        ("Stopping", "Stopping", JobState.STOPPING),
        ("Completed", "Completed", JobState.SUCCEEDED),
        ("Failed", "Failed", JobState.FAILED),
        ("Stopped", "Stopped", JobState.CANCELLED),
        ("Stopped", "MaxRuntimeExceeded", JobState.FAILED),
        ("Stopped", "MaxWaitTimeExceeded", JobState.FAILED),
        ("Brand-new", None, JobState.UNKNOWN),
        (None, None, JobState.UNKNOWN),
    ],
)
def test_state_table(primary: str | None, secondary: str | None, state: JobState) -> None:
    assert job_state(primary, secondary) is state


def test_message_prefers_the_failure_reason() -> None:
    assert status_message("Failed", "Failed", " OOM \n") == "OOM"
    assert status_message("InProgress", "Training", None) == "Training"
    assert status_message("Completed", "Completed", None) is None
    assert status_message("Stopped", "MaxRuntimeExceeded", None) == (
        "stopped by its time cap (MaxRuntimeExceeded)"
    )


def test_console_url_uses_the_region_partition() -> None:
    assert console_url("eu-west-1", "j").startswith("https://eu-west-1.console.aws.amazon.com/")
    assert console_url("cn-north-1", "j").startswith("https://console.amazonaws.cn/")
    assert console_url("us-gov-west-1", "j").startswith("https://console.amazonaws-us-gov.com/")

"""Azure ML's status strings map onto cloudgd's states; unknown ones stay visible."""

from __future__ import annotations

import pytest

from cloudgd.plan import JobState
from providers.azure.states import job_state


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("NotStarted", JobState.PENDING),
        ("Queued", JobState.PENDING),
        ("Preparing", JobState.STARTING),
        ("Provisioning", JobState.STARTING),
        ("Running", JobState.RUNNING),
        ("Finalizing", JobState.RUNNING),
        ("CancelRequested", JobState.STOPPING),
        ("Completed", JobState.SUCCEEDED),
        ("Failed", JobState.FAILED),
        ("Canceled", JobState.CANCELLED),
        ("Unknown", JobState.UNKNOWN),
        ("SomethingNew", JobState.UNKNOWN),
        (None, JobState.UNKNOWN),
    ],
)
def test_azure_status_maps_to_job_state(raw: str | None, state: JobState) -> None:
    assert job_state(raw) is state


def test_every_status_the_service_defines_is_mapped() -> None:
    from azure.ai.ml._restclient.arm_ml_service.models._enums import JobStatus

    # The generated enum also carries queue tiers (Spot, Basic, ...) and Null: not states.
    not_states = {"Unknown", "Null", "Spot", "Basic", "Standard", "Premium"}
    unmapped = {s.value for s in JobStatus} - not_states
    assert {s for s in unmapped if job_state(s) is JobState.UNKNOWN} == set()

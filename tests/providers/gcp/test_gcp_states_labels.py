"""Vertex job states and labels."""

from __future__ import annotations

import pytest
from google.cloud import aiplatform_v1

from cloudgd.errors import SpecError
from cloudgd.plan import JobState
from providers.gcp.labels import job_labels, key_label, lookup_filter, user_labels
from providers.gcp.states import STATE_NUMBERS, VERTEX_STATES, job_state, state_name


def test_state_numbers_match_the_sdk_enum() -> None:
    assert {s.value: s.name for s in aiplatform_v1.JobState} == STATE_NUMBERS


def test_every_state_but_unspecified_has_a_mapping() -> None:
    assert set(VERTEX_STATES) == set(STATE_NUMBERS.values()) - {"JOB_STATE_UNSPECIFIED"}


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("JOB_STATE_QUEUED", JobState.PENDING),
        (2, JobState.STARTING),
        ("3", JobState.RUNNING),
        ("JOB_STATE_SUCCEEDED", JobState.SUCCEEDED),
        ("JOB_STATE_CANCELLING", JobState.STOPPING),
        (7, JobState.CANCELLED),
        ("JOB_STATE_EXPIRED", JobState.FAILED),
        ("JOB_STATE_SOMETHING_NEW", JobState.UNKNOWN),
        (None, JobState.UNKNOWN),
    ],
)
def test_raw_states_normalise(raw: str | int | None, state: JobState) -> None:
    assert job_state(raw) is state


def test_unknown_state_keeps_its_raw_name() -> None:
    assert state_name("JOB_STATE_SOMETHING_NEW") == "JOB_STATE_SOMETHING_NEW"


def test_tags_become_valid_labels() -> None:
    assert user_labels({"Team": "ML Ops", "cost_center": "R&D"}) == {
        "team": "ml-ops",
        "cost_center": "r-d",
    }


def test_tags_that_collide_after_lowercasing_are_refused() -> None:
    with pytest.raises(SpecError, match=r"tags\.team: becomes the label"):
        user_labels({"team": "a", "Team": "b"})


def test_job_labels_find_the_same_spec_and_key() -> None:
    labels = job_labels(
        {}, job_name="digits-1a2b3c4d", spec_hash="f" * 64, idempotency_key="sha-1", version="0.1.0"
    )
    assert labels["cloudgd-spec-hash"] == "f" * 32
    assert lookup_filter(labels) == 'labels.cloudgd-spec-hash="' + "f" * 32 + (
        '" AND labels.cloudgd-key="sha-1"'
    )


def test_keys_that_are_not_label_values_are_hashed_not_mangled() -> None:
    assert key_label("ABC") != key_label("abc")
    assert key_label(None) == "none"

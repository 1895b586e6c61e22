"""Which CI system runs us, and the idempotency key each one implies."""

from __future__ import annotations

import pytest

from cloudgd.ci.environment import CiRun, default_idempotency_key, detect, in_ci

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "0123abcd",
    "GITHUB_RUN_ID": "987654",
    "GITHUB_RUN_ATTEMPT": "3",
    "GITHUB_REPOSITORY": "acme/models",
    "GITHUB_SERVER_URL": "https://github.com",
}


def test_github_actions_key_is_commit_run_and_attempt() -> None:
    run = detect(GITHUB)
    assert run == CiRun(
        system="github-actions",
        revision="0123abcd",
        run_id="987654",
        attempt=3,
        url="https://github.com/acme/models/actions/runs/987654/attempts/3",
    )
    assert run.key() == "0123abcd-987654-3"
    assert default_idempotency_key(None, GITHUB) == "0123abcd-987654-3"


def test_a_scheduled_run_on_the_same_commit_gets_a_new_key() -> None:
    monday = detect({**GITHUB, "GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1"})
    tuesday = detect({**GITHUB, "GITHUB_RUN_ID": "2", "GITHUB_RUN_ATTEMPT": "1"})
    assert monday is not None and tuesday is not None
    assert monday.key() != tuesday.key()


def test_earlier_attempts_are_listed_newest_first() -> None:
    run = detect(GITHUB)
    assert run is not None
    assert run.earlier_keys() == ["0123abcd-987654-2", "0123abcd-987654-1"]
    first = detect({**GITHUB, "GITHUB_RUN_ATTEMPT": "1"})
    assert first is not None and first.earlier_keys() == []


def test_many_attempts_look_back_a_bounded_number() -> None:
    run = detect({**GITHUB, "GITHUB_RUN_ATTEMPT": "40"})
    assert run is not None
    keys = run.earlier_keys()
    assert len(keys) == 10 and keys[0].endswith("-39") and keys[-1].endswith("-30")


def test_the_older_github_form_without_a_run_id_still_works() -> None:
    assert default_idempotency_key(None, {"GITHUB_SHA": "abc", "GITHUB_RUN_ATTEMPT": "2"}) == (
        "abc-2"
    )
    assert default_idempotency_key(None, {"GITHUB_SHA": "abc"}) == "abc"


def test_an_explicit_key_wins_and_empty_means_none() -> None:
    assert default_idempotency_key("mine", GITHUB) == "mine"
    assert default_idempotency_key("", GITHUB) is None
    assert default_idempotency_key(None, {}) is None


@pytest.mark.parametrize(
    ("env", "system", "key", "attempt"),
    [
        (
            {"GITLAB_CI": "true", "CI_COMMIT_SHA": "c1", "CI_PIPELINE_ID": "55",
             "CI_PIPELINE_URL": "https://gitlab.example/p/-/pipelines/55"},
            "gitlab-ci", "c1-55", None,
        ),
        (
            {"BUILDKITE": "true", "BUILDKITE_COMMIT": "c2", "BUILDKITE_BUILD_ID": "b-9",
             "BUILDKITE_RETRY_COUNT": "1"},
            "buildkite", "c2-b-9-2", 2,
        ),
        (
            {"CIRCLECI": "true", "CIRCLE_SHA1": "c3", "CIRCLE_WORKFLOW_ID": "wf"},
            "circleci", "c3-wf", None,
        ),
        (
            {"TF_BUILD": "True", "BUILD_SOURCEVERSION": "c4", "BUILD_BUILDID": "77",
             "SYSTEM_JOBATTEMPT": "2", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
             "SYSTEM_TEAMPROJECT": "ml"},
            "azure-pipelines", "c4-77-2", 2,
        ),
        (
            {"BITBUCKET_BUILD_NUMBER": "12", "BITBUCKET_COMMIT": "c5"},
            "bitbucket-pipelines", "c5-12", None,
        ),
        (
            {"JENKINS_URL": "https://ci/", "GIT_COMMIT": "c6", "BUILD_TAG": "jenkins-train-8"},
            "jenkins", "c6-jenkins-train-8", None,
        ),
    ],
)  # fmt: skip
def test_other_ci_systems(env: dict[str, str], system: str, key: str, attempt: int | None) -> None:
    run = detect(env)
    assert run is not None
    assert (run.system, run.key(), run.attempt) == (system, key, attempt)
    assert in_ci(env)


def test_azure_pipelines_links_to_the_build() -> None:
    run = detect(
        {"TF_BUILD": "True", "BUILD_BUILDID": "77", "BUILD_SOURCEVERSION": "c",
         "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/", "SYSTEM_TEAMPROJECT": "ml"}
    )  # fmt: skip
    assert run is not None and run.url == "https://dev.azure.com/acme/ml/_build/results?buildId=77"


def test_outside_ci_there_is_no_run_and_no_key() -> None:
    assert detect({"HOME": "/home/me"}) is None
    assert not in_ci({"HOME": "/home/me"})
    assert in_ci({"CI": "true"})  # an unknown system still counts as CI
    assert default_idempotency_key(None, {"CI": "true"}) is None


def test_a_ci_system_without_a_commit_gives_no_key() -> None:
    run = detect({"GITLAB_CI": "true"})
    assert run is not None and run.key() is None and run.earlier_keys() == []

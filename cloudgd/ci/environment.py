"""Which CI system runs us, and the idempotency key its environment implies.

A CI job's idempotency key names one *run* of a pipeline at one commit and one
attempt: ``<commit>-<run id>-<attempt>``. The run id keeps a nightly schedule on
an unchanged commit from attaching to yesterday's job; the attempt makes "Re-run"
a fresh try. ``submit`` then looks for the job an earlier attempt of the same run
started (:meth:`CiRun.earlier_keys`) and attaches to it unless it failed, so a
re-run after a runner timeout never pays for a second job, while a re-run after a
failed training trains again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import BaseModel, ConfigDict, Field

# Earlier attempts looked up before submitting; re-runs beyond this are rare.
MAX_EARLIER_ATTEMPTS = 10


class CiRun(BaseModel):
    """One run of a CI pipeline, as its environment variables describe it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field(description="CI system: github-actions, gitlab-ci, buildkite, ...")
    revision: str | None = Field(default=None, description="Commit being built.")
    run_id: str | None = Field(
        default=None, description="The pipeline run; the same across its re-runs."
    )
    attempt: int | None = Field(
        default=None, description="1-based re-run attempt, where the system counts them."
    )
    url: str | None = Field(default=None, description="Link to the run in the CI system's UI.")

    def key(self, attempt: int | None = None) -> str | None:
        """The idempotency key of this run (at ``attempt``, default the current one)."""
        if not self.revision:
            return None
        chosen = self.attempt if attempt is None else attempt
        parts = [self.revision, self.run_id, None if chosen is None else str(chosen)]
        return "-".join(part for part in parts if part)

    def earlier_keys(self) -> list[str]:
        """Keys of this run's earlier attempts, newest first."""
        if not self.revision or not self.attempt or self.attempt < 2:
            return []
        first = max(1, self.attempt - MAX_EARLIER_ATTEMPTS)
        keys = (self.key(n) for n in range(self.attempt - 1, first - 1, -1))
        return [key for key in keys if key]


def _int(text: str | None, offset: int = 0) -> int | None:
    return int(text) + offset if text and text.isdigit() else None


def _github(env: Mapping[str, str]) -> CiRun | None:
    # GITHUB_SHA alone counts too: scripts replaying a workflow set just that.
    if env.get("GITHUB_ACTIONS") != "true" and not env.get("GITHUB_SHA"):
        return None
    run_id = env.get("GITHUB_RUN_ID") or None
    attempt = _int(env.get("GITHUB_RUN_ATTEMPT"))
    server, repo = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY")
    url = None
    if repo and run_id:
        url = f"{server}/{repo}/actions/runs/{run_id}"
        url += f"/attempts/{attempt}" if attempt else ""
    return CiRun(
        system="github-actions",
        revision=env.get("GITHUB_SHA") or None,
        run_id=run_id,
        attempt=attempt,
        url=url,
    )


def _gitlab(env: Mapping[str, str]) -> CiRun | None:
    if env.get("GITLAB_CI") != "true":
        return None
    # Retrying a GitLab job keeps the pipeline id: the retry attaches to the job.
    return CiRun(
        system="gitlab-ci",
        revision=env.get("CI_COMMIT_SHA"),
        run_id=env.get("CI_PIPELINE_ID"),
        url=env.get("CI_PIPELINE_URL"),
    )


def _buildkite(env: Mapping[str, str]) -> CiRun | None:
    if env.get("BUILDKITE") != "true":
        return None
    return CiRun(
        system="buildkite",
        revision=env.get("BUILDKITE_COMMIT"),
        run_id=env.get("BUILDKITE_BUILD_ID"),
        attempt=_int(env.get("BUILDKITE_RETRY_COUNT"), 1),  # counts retries from 0
        url=env.get("BUILDKITE_BUILD_URL"),
    )


def _circleci(env: Mapping[str, str]) -> CiRun | None:
    if env.get("CIRCLECI") != "true":
        return None
    return CiRun(
        system="circleci",
        revision=env.get("CIRCLE_SHA1"),
        run_id=env.get("CIRCLE_WORKFLOW_ID"),
        url=env.get("CIRCLE_BUILD_URL"),
    )


def _azure_pipelines(env: Mapping[str, str]) -> CiRun | None:
    if env.get("TF_BUILD", "").lower() != "true":
        return None
    build = env.get("BUILD_BUILDID")
    collection, project = env.get("SYSTEM_COLLECTIONURI"), env.get("SYSTEM_TEAMPROJECT")
    url = f"{collection}{project}/_build/results?buildId={build}" if collection and build else None
    return CiRun(
        system="azure-pipelines",
        revision=env.get("BUILD_SOURCEVERSION"),
        run_id=build,
        attempt=_int(env.get("SYSTEM_JOBATTEMPT")),
        url=url,
    )


def _bitbucket(env: Mapping[str, str]) -> CiRun | None:
    if not env.get("BITBUCKET_BUILD_NUMBER"):
        return None
    return CiRun(
        system="bitbucket-pipelines",
        revision=env.get("BITBUCKET_COMMIT"),
        run_id=env.get("BITBUCKET_BUILD_NUMBER"),
    )


def _jenkins(env: Mapping[str, str]) -> CiRun | None:
    if not env.get("JENKINS_URL"):
        return None
    # A Jenkins "rebuild" is a new build number, so it trains anew.
    return CiRun(
        system="jenkins",
        revision=env.get("GIT_COMMIT"),
        run_id=env.get("BUILD_TAG"),
        url=env.get("BUILD_URL"),
    )


_DETECTORS: tuple[Callable[[Mapping[str, str]], CiRun | None], ...] = (
    _github,
    _gitlab,
    _buildkite,
    _circleci,
    _azure_pipelines,
    _bitbucket,
    _jenkins,
)


def detect(env: Mapping[str, str]) -> CiRun | None:
    """The CI run ``env`` describes, or None outside CI (or in an unknown system)."""
    for detector in _DETECTORS:
        found = detector(env)
        if found is not None:
            return found
    return None


def in_ci(env: Mapping[str, str]) -> bool:
    """True in any CI system (the ``CI`` convention or a known one): no live terminal UI."""
    return env.get("CI", "").lower() in ("true", "1") or detect(env) is not None


def default_idempotency_key(explicit: str | None, env: Mapping[str, str]) -> str | None:
    """``--idempotency-key`` (or CLOUDGD_IDEMPOTENCY_KEY) wins, '' meaning none; in CI,
    the run's key (commit, run id, attempt); otherwise none."""
    if explicit is not None:
        return explicit or None
    run = detect(env)
    return run.key() if run else None

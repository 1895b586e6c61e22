"""Vertex AI HyperparameterTuningJobs through the real aiplatform_v1 client and the fake:
tune → status with per-trial values → logs → cancel, in Python and through the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from gcp_helpers import Fake, fixed_ctx, make_spec

from cloudgd.plan import BundleRef, JobHandle, JobState
from cloudgd.tuning.follow import TuningFollower
from providers.gcp.provider import GcpProvider
from providers.gcp.rehearsal.fake import make_server
from providers.gcp.rehearsal.fake_store import Phases
from providers.gcp.tuning import render_tuning
from providers.gcp.tuning_jobs import submit_tuning
from tests.support.serving import serving

pytestmark = pytest.mark.slow  # runs the fake service

SEARCH = {
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "trainer.optimizer.lr": {"type": "log_uniform", "min": 1e-4, "max": 1e-1},
        "trainer.batch_size": {"type": "choice", "values": [32, 64]},
        "trainer.optimizer.name": {"type": "choice", "values": ["sgd", "adamw"]},
    },
    "max_trials": 4,
    "parallel_trials": 2,
}


@pytest.fixture
def slow_fake() -> Iterator[Fake]:
    """A fake whose studies run for a minute, so a cancel always lands mid-study."""
    server = make_server(phases=Phases(queued=0.1, pending=0.1, running=60.0, cancelling=0.2))
    with serving(server):
        yield Fake(server=server, url=f"http://127.0.0.1:{server.server_address[1]}")


def _wait(follower: TuningFollower, handle: JobHandle, done: bool = True) -> None:
    deadline = time.monotonic() + 30
    while follower.status(handle).state.terminal != done:
        assert time.monotonic() < deadline, "the study never changed state"
        time.sleep(0.05)


def test_tune_submits_the_study_and_status_lists_every_trial(
    fake: Fake, real_bundle: BundleRef
) -> None:
    provider = GcpProvider(backend="fake", endpoint=fake.url)
    plan = render_tuning(make_spec(tuning=SEARCH), fixed_ctx(bundle=real_bundle), rehearsal=True)
    submitted = submit_tuning(provider, plan)
    handle = JobHandle.parse(submitted.handle)
    assert handle.params["kind"] == "tuning" and handle.job.isdigit()
    assert handle.params["endpoint"] == fake.url
    assert submitted.state in (JobState.PENDING, JobState.STARTING)
    # the same spec and key again attaches to the live study
    assert submit_tuning(provider, plan).handle == submitted.handle

    follower = TuningFollower(provider)
    _wait(follower, handle)
    status = follower.status(handle)
    assert status.state is JobState.SUCCEEDED and status.extra["kind"] == "tuning"
    trials = status.extra["trials"]
    assert [t["state"] for t in trials] == ["SUCCEEDED"] * 4
    assert status.extra["trial_counts"] == {"SUCCEEDED": 4}
    for trial in trials:
        assert set(trial["params"]) == set(SEARCH["parameters"])
        assert 1e-4 <= trial["params"]["trainer.optimizer.lr"] <= 1e-1
        assert trial["params"]["trainer.optimizer.name"] in ("sgd", "adamw")
    best = min(trials, key=lambda t: t["value"])
    assert status.extra["best"]["name"] == best["name"]
    assert status.metrics == {"val_loss": best["value"]}
    # the plan's handle names the study by its display name, and resolves too
    assert follower.status(JobHandle.parse(plan.handle).model_copy(
        update={"params": dict(handle.params)}
    )).extra["resource_name"] == status.extra["resource_name"]  # fmt: skip

    # `cloudgd list` shows the study, with the handle that follows it as one
    [listed] = [j for j in provider.list() if j.extra.get("kind") == "tuning"]
    assert listed.handle == str(handle) and listed.state is JobState.SUCCEEDED

    # logs: the study's Cloud Logging entries (ml_job, its ID), each trial's marked
    lines = list(follower.logs(handle))
    assert lines[0] == "Waiting for job to be provisioned."
    assert "Job completed successfully." in lines  # as the last wave of trials ends
    for trial in trials:
        number = trial["name"].removeprefix("trial-")
        mine = [line for line in lines if line.startswith(f"[trial {number}] ")]
        assert mine[0].startswith(f"[trial {number}] Trial {number} started: ")
        assert mine[-1] == f"[trial {number}] Trial {number} succeeded: val_loss={trial['value']}"


def test_cancel_stops_the_running_trials_and_is_idempotent(
    slow_fake: Fake, real_bundle: BundleRef
) -> None:
    provider = GcpProvider(backend="fake", endpoint=slow_fake.url)
    plan = render_tuning(make_spec(tuning=SEARCH), fixed_ctx(bundle=real_bundle), rehearsal=True)
    handle = JobHandle.parse(submit_tuning(provider, plan).handle)
    follower = TuningFollower(provider)
    deadline = time.monotonic() + 30
    while follower.status(handle).state is not JobState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [t["state"] for t in follower.status(handle).extra["trials"]] == ["ACTIVE"] * 2

    stopping = follower.cancel(handle)
    assert stopping.state in (JobState.STOPPING, JobState.CANCELLED)
    _wait(follower, handle)
    cancelled = follower.cancel(handle)  # a second cancel reports the end, changes nothing
    assert cancelled.state is JobState.CANCELLED
    assert [t["state"] for t in cancelled.extra["trials"]] == ["INFEASIBLE"] * 2
    assert cancelled.extra["best"] == {}
    lines = list(follower.logs(handle))
    assert "[trial 2] Trial 2 stopped: the tuning job was stopped" in lines
    assert "Job was cancelled." in lines
    # a cancelled study is not reused: tuning again creates a new one
    assert submit_tuning(provider, plan).handle != str(handle)


def test_the_fake_refuses_a_study_without_trials(fake: Fake, real_bundle: BundleRef) -> None:
    from cloudgd.errors import ProviderError

    provider = GcpProvider(backend="fake", endpoint=fake.url)
    plan = render_tuning(make_spec(tuning=SEARCH), fixed_ctx(bundle=real_bundle), rehearsal=True)
    body = {**plan.request["hyperparameterTuningJob"], "maxTrialCount": 0}
    broken = plan.model_copy(update={"request": {**plan.request, "hyperparameterTuningJob": body}})
    with pytest.raises(ProviderError, match="max_trial_count"):
        submit_tuning(provider, broken)


def test_tune_status_and_cancel_through_the_cli(slow_fake: Fake, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cloudgd.cli.main import cli

    def cloudgd(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args))
        return result.exit_code, result.stdout, result.stderr

    job = tmp_path / "job.yaml"
    job.write_text(
        yaml.safe_dump({"name": "digits-tune", "trainer": {"epochs": 1}, "tuning": SEARCH})
    )
    code, out, err = cloudgd(
        "--output", "json", "tune", str(job), "-p", "gcp", "--backend", "fake",
        "--endpoint", slow_fake.url,
    )  # fmt: skip
    assert code == 0, err
    handle = json.loads(out)["handle"]
    assert handle.startswith("gcp://cloudgd-rehearsal/us-central1/") and "kind=tuning" in handle

    code, out, err = cloudgd("--output", "json", "status", handle)
    assert code == 0, err
    assert json.loads(out)["extra"]["kind"] == "tuning"

    code, out, err = cloudgd("--output", "json", "cancel", handle)
    assert code == 0, err
    assert json.loads(out)["state"] in ("STOPPING", "CANCELLED")


RECORDS = [
    {"kind": "step", "step": 1, "epoch": 1, "loss": 0.9, "lr": 0.01},
    {"kind": "epoch", "step": 1, "epoch": 1, "loss": 0.8, "val_loss": 0.7},
    {"kind": "step", "step": 2, "epoch": 2, "loss": 0.5, "lr": 0.01},
    {"kind": "epoch", "step": 2, "epoch": 2, "loss": 0.4, "val_loss": 0.45},
]


def test_a_vertex_trial_is_named_on_the_study_handle_and_reported(
    fake: Fake, real_bundle: BundleRef, tmp_path: Path
) -> None:
    """Vertex trials are not jobs: `trial=N` on the study's handle names one, and
    `report` on the study fetches each trial's files from <base>/<N>/output/."""
    from click.testing import CliRunner

    from cloudgd.cli.main import cli
    from providers.gcp.client import make_api

    provider = GcpProvider(backend="fake", endpoint=fake.url)
    plan = render_tuning(make_spec(tuning=SEARCH), fixed_ctx(bundle=real_bundle), rehearsal=True)
    handle = JobHandle.parse(submit_tuning(provider, plan).handle)
    follower = TuningFollower(provider)
    _wait(follower, handle)

    trial = JobHandle.parse(f"{handle}&trial=2")
    status = follower.status(trial)
    [row] = [t for t in follower.status(handle).extra["trials"] if t["name"] == "trial-2"]
    assert status.state is JobState.SUCCEEDED and status.name.endswith("-trial-2")
    assert status.metrics == {"val_loss": row["value"]} and status.extra["params"] == row["params"]
    lines = list(follower.logs(trial))
    assert lines and all(line.startswith("[trial 2] ") for line in lines)

    # the trainer of trials 1 and 2 wrote its files beside the trial's model dir
    spec = plan.request["hyperparameterTuningJob"]["trialJobSpec"]
    base = spec["baseOutputDirectory"]["outputUriPrefix"]
    project, location = handle.parts[0], handle.parts[1]
    api = make_api(location=location, endpoint=fake.url, project=project)
    source = tmp_path / "metrics.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    for number in (1, 2):
        api.upload(str(source), f"{base}{number}/output/metrics.jsonl", None, project)

    reported = CliRunner().invoke(cli, ["report", str(handle), "--out", str(tmp_path / "rep")])
    assert reported.exit_code == 0, reported.stderr
    assert "comparing its 4 best finished trial(s)" in reported.stderr
    assert reported.stderr.count("skipped ") == 2  # trials 3 and 4 wrote nothing
    markdown = next((tmp_path / "rep").glob("*.md")).read_text()
    assert "-trial-1`" in markdown and "-trial-2`" in markdown


def test_logs_follow_a_running_study_to_its_end(fake: Fake, real_bundle: BundleRef) -> None:
    provider = GcpProvider(backend="fake", endpoint=fake.url)
    plan = render_tuning(make_spec(tuning=SEARCH), fixed_ctx(bundle=real_bundle), rehearsal=True)
    handle = JobHandle.parse(submit_tuning(provider, plan).handle)
    follower = TuningFollower(provider)
    lines = list(follower.logs(handle, follow=True))  # returns once the study has ended
    assert follower.status(handle).state is JobState.SUCCEEDED
    assert "Job completed successfully." in lines
    finished = [line for line in lines if " succeeded: val_loss=" in line]
    assert len(finished) == SEARCH["max_trials"]
    assert len(lines) == len(set(lines))  # no line twice across the polls


def test_list_without_permission_for_tuning_jobs_still_lists_custom_jobs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A custom role from before `cloudgd tune` has no hyperparameterTuningJobs.list."""
    from cloudgd.errors import CredentialsError

    for var in ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(var, raising=False)

    class Api:
        default_project = "my-project"

        def list_jobs(self, parent: str, filter_text: str) -> list[dict[str, object]]:
            return []

        def list_tuning_jobs(self, parent: str, filter_text: str) -> list[dict[str, object]]:
            raise CredentialsError("Permission 'aiplatform.hyperparameterTuningJobs.list' denied")

    assert GcpProvider(client_factory=lambda **_: Api()).list() == []

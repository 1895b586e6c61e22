"""Azure ML sweep jobs through the real azure-ai-ml MLClient and the fake service:
tune → status → logs → cancel, in Python and through the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_helpers import WORKSPACE, make_ctx, make_spec, real_bundle

from cloudgd.plan import JobHandle, JobState, Plan
from cloudgd.tuning.follow import TuningFollower
from providers.azure.provider import AzureProvider
from providers.azure.rehearsal.fake import FakeAzureML
from providers.azure.rehearsal.fake_store import FakeStore
from providers.azure.scope import WorkspaceScope
from providers.azure.tuning import render_tuning
from providers.azure.tuning_jobs import TRIALS_NOTE, submit_tuning

pytestmark = pytest.mark.slow  # runs the fake service

SEARCH: dict[str, Any] = {
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "trainer.optimizer.lr": {"type": "log_uniform", "min": 1e-4, "max": 1e-1},
        "trainer.batch_size": {"type": "choice", "values": [32, 64]},
    },
    "max_trials": 4,
    "parallel_trials": 2,
    "strategy": "random",
}


def _plan(tmp_path: Path) -> Plan:
    spec = make_spec(tuning=SEARCH, providers={"azure": {**WORKSPACE, "manage_compute": True}})
    return render_tuning(
        spec, make_ctx(bundle=real_bundle(spec, tmp_path / "bundles")), rehearsal=True
    )


def _wait_until(follower: TuningFollower, handle: JobHandle, *states: JobState) -> None:
    deadline = time.monotonic() + 30
    while follower.status(handle).state not in states:
        assert time.monotonic() < deadline, f"the sweep never reached {states}"
        time.sleep(0.05)


def test_tune_creates_the_sweep_job_and_status_follows_it(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    provider = AzureProvider(backend="fake", endpoint=fake_azure.plain_url, poll_seconds=0.1)
    plan = _plan(tmp_path)
    submitted = submit_tuning(provider, plan)
    handle = JobHandle.parse(submitted.handle)
    assert handle.job == plan.job_name
    assert handle.params == {
        "backend": "fake", "endpoint": fake_azure.plain_url, "kind": "tuning"
    }  # fmt: skip
    [stored] = fake_store.list_jobs("/".join(handle.parts[:3]).lower())
    props = stored.body["properties"]
    assert props["jobType"] == "Sweep"
    assert set(props["searchSpace"]) == {"trainer_optimizer_lr", "trainer_batch_size"}
    assert props["objective"] == {"goal": "minimize", "primaryMetric": "val_loss"}
    # the same plan again attaches to the sweep instead of failing
    assert submit_tuning(provider, plan).handle == submitted.handle

    follower = TuningFollower(provider)
    _wait_until(follower, handle, JobState.RUNNING)
    running = follower.status(handle)
    # the first wave: parallel_trials child jobs, listed through run history
    assert [t["name"] for t in running.extra["trials"]][:2] == [
        f"{plan.job_name}_0",
        f"{plan.job_name}_1",
    ]
    assert running.extra["best"] == {} and running.metrics == {}

    _wait_until(follower, handle, JobState.SUCCEEDED)
    status = follower.status(handle)
    assert status.extra["kind"] == "tuning" and status.extra["note"] == TRIALS_NOTE
    trials = status.extra["trials"]
    assert [t["name"] for t in trials] == [f"{plan.job_name}_{n}" for n in range(4)]
    assert status.extra["trial_counts"] == {"SUCCEEDED": 4}
    best = status.extra["best"]
    assert best["name"] in {t["name"] for t in trials}
    # the sweep's own score (service-set) is the study's metric and the best trial's value
    assert status.metrics == {"val_loss": best["value"]}
    assert [t["value"] for t in trials if t["name"] == best["name"]] == [best["value"]]
    assert list(follower.logs(handle))  # the sweep job's own log
    # `cloudgd list`: the sweep, not its trials, with the handle that follows it as a study
    scope = WorkspaceScope(*handle.parts[:3])
    lister = AzureProvider(backend="fake", endpoint=fake_azure.plain_url, scope=scope)
    [listed] = lister.list()
    assert listed.handle == str(handle) and listed.extra == {"kind": "tuning"}


def test_cancel_a_running_sweep_twice(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    fake_store.run_steps = 150  # Running lasts 30 s: the cancel lands mid-sweep
    provider = AzureProvider(backend="fake", endpoint=fake_azure.plain_url, poll_seconds=0.1)
    handle = JobHandle.parse(submit_tuning(provider, _plan(tmp_path)).handle)
    follower = TuningFollower(provider)
    _wait_until(follower, handle, JobState.RUNNING)
    assert follower.cancel(handle).state in (JobState.STOPPING, JobState.CANCELLED)
    _wait_until(follower, handle, JobState.CANCELLED)
    again = follower.cancel(handle)
    assert again.state is JobState.CANCELLED and again.handle == str(handle)
    # the running wave was cancelled with the sweep, and no later trial was started
    assert again.extra["trial_counts"] == {"CANCELLED": 2}
    assert again.extra["best"] == {}


def test_tune_status_and_cancel_through_the_cli(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cloudgd.cli.main import cli

    def cloudgd(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args))
        return result.exit_code, result.stdout, result.stderr

    fake_store.run_steps = 150
    job = tmp_path / "job.yaml"
    doc = {"name": "digits-tune", "trainer": {"epochs": 1}, "tuning": SEARCH}
    job.write_text(yaml.safe_dump(doc))
    code, out, err = cloudgd(
        "--output", "json", "tune", str(job), "-p", "azure", "--backend", "fake",
        "--endpoint", fake_azure.plain_url,
    )  # fmt: skip
    assert code == 0, err
    handle = json.loads(out)["handle"]
    assert handle.startswith("azure://") and "kind=tuning" in handle

    code, out, err = cloudgd("--output", "json", "status", handle)
    assert code == 0, err
    assert json.loads(out)["extra"]["kind"] == "tuning"
    code, out, err = cloudgd("--output", "json", "cancel", handle)
    assert code == 0, err
    assert json.loads(out)["state"] in ("STOPPING", "CANCELLED")


def test_tune_wait_follows_the_sweep_to_its_end_and_gates_its_best_trial(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    """What a CI step runs: submit the study, follow it, show each trial, gate the best."""
    from click.testing import CliRunner

    from cloudgd.cli.main import cli

    fake_store.run_steps = 8  # each wave runs 1.8 s: polls see it even on a busy machine

    job = tmp_path / "job.yaml"
    doc = {"name": "digits-tune", "trainer": {"epochs": 1}, "tuning": SEARCH}
    job.write_text(yaml.safe_dump(doc))
    args = ["tune", str(job), "-p", "azure", "--backend", "fake", "--endpoint",
            fake_azure.plain_url, "--wait", "--poll", "0.1"]  # fmt: skip
    passed = CliRunner().invoke(cli, [*args, "--max-metric", "val_loss=1.0"])
    assert passed.exit_code == 0, passed.stderr
    assert "(trials: 2 RUNNING)" in passed.stderr  # the first wave, as it ran
    assert "gate passed: val_loss=" in passed.stderr
    lines = [" ".join(line.split()) for line in passed.stdout.splitlines()]
    assert "trials 4 SUCCEEDED" in lines
    assert sum(1 for line in lines if line.startswith("digits-tune-")) == 4  # one row per trial

    # the same study again (attached, already ended) against a bar its best cannot reach
    missed = CliRunner().invoke(cli, [*args, "--max-metric", "val_loss=0.0"])
    assert missed.exit_code == 4
    assert "gate failed: val_loss=" in missed.stderr and "is above 0" in missed.stderr


def test_tune_gates_need_wait_on_a_cloud(fake_azure: FakeAzureML, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cloudgd.cli.main import cli

    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"name": "t", "trainer": {"epochs": 1}, "tuning": SEARCH}))
    result = CliRunner().invoke(
        cli, ["tune", str(job), "-p", "azure", "--backend", "fake", "--min-metric", "x=1"]
    )
    assert result.exit_code == 2 and "needs --wait" in result.stderr


def test_wait_on_a_tuning_handle_reports_the_trials_as_they_move(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cloudgd.cli.main import cli

    fake_store.run_steps = 8  # each wave runs 1.8 s: polls see it even on a busy machine

    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"name": "waited", "trainer": {"epochs": 1}, "tuning": SEARCH}))
    tuned = CliRunner().invoke(
        cli, ["tune", str(job), "-p", "azure", "--backend", "fake", "--endpoint",
              fake_azure.plain_url],
    )  # fmt: skip
    assert tuned.exit_code == 0, tuned.stderr
    handle = tuned.stdout.strip()
    waited = CliRunner().invoke(cli, ["wait", handle, "--poll", "0.1"])
    assert waited.exit_code == 0, waited.stderr
    assert "(trials: 4 SUCCEEDED)" in waited.stderr
    assert waited.stderr.index("(trials: 2 RUNNING)") < waited.stderr.index("4 SUCCEEDED")


def test_a_throttled_trial_listing_is_retried(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    provider = AzureProvider(backend="fake", endpoint=fake_azure.plain_url, poll_seconds=0.1)
    handle = JobHandle.parse(submit_tuning(provider, _plan(tmp_path)).handle)
    follower = TuningFollower(provider)
    _wait_until(follower, handle, JobState.SUCCEEDED)
    fake_store.inject_fault("/children", 503, times=2)
    assert follower.status(handle).extra["trial_counts"] == {"SUCCEEDED": 4}
    assert fake_store.take_fault("/children") is None  # both faults were met, and retried


def test_report_on_a_sweep_fetches_each_trials_metrics_output(
    fake_azure: FakeAzureML, tmp_path: Path
) -> None:
    """The fake's trials write no files: each is skipped, and the report says none had any."""
    from click.testing import CliRunner

    from cloudgd.cli.main import cli

    provider = AzureProvider(backend="fake", endpoint=fake_azure.plain_url, poll_seconds=0.1)
    handle = JobHandle.parse(submit_tuning(provider, _plan(tmp_path)).handle)
    _wait_until(TuningFollower(provider), handle, JobState.SUCCEEDED)
    result = CliRunner().invoke(cli, ["report", str(handle), "--out", str(tmp_path / "rep")])
    assert result.exit_code == 3  # nothing to report on: no trial logged metrics
    assert "comparing its 4 best finished trial(s)" in result.stderr
    assert result.stderr.count("skipped azure://") == 4
    assert "_0: no metrics yet (nothing in azureml://datastores/" in result.stderr
    assert "no trial of study" in result.stderr

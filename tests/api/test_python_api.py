"""The Python API (``cloudgd.Job`` / ``cloudgd.Run``) as a notebook or pipeline uses it.

Jobs go to the ``fake`` cloud (tests/cli/fakes.py); metrics and downloads read a local
run directory written as the trainer leaves one (tests/report/conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import cloudgd
from cloudgd.cli.main import cli
from tests.cli.fakes import LOG_LINES
from tests.report.conftest import WriteRun, local_run, trainer_records

__all__ = ["local_run"]  # the fixture, used by name below

JobFile = Callable[..., Path]


def test_a_job_file_plans_exactly_what_the_cli_prints(job_file: JobFile) -> None:
    path = job_file()
    job = cloudgd.Job.from_yaml(path, overrides={"trainer.epochs": 1})
    assert job.spec.trainer.epochs == 1
    plan = job.plan("fake")
    assert isinstance(plan, cloudgd.Plan)
    printed = CliRunner().invoke(
        cli, ["-o", "json", "plan", str(path), "-p", "fake", "--set", "trainer.epochs=1"]
    )
    assert printed.exit_code == 0, printed.stderr
    assert json.loads(printed.stdout) == plan.model_dump(mode="json")


def test_overrides_take_python_values_or_set_texts(job_file: JobFile) -> None:
    path = job_file()
    as_dict = cloudgd.Job.from_yaml(path, overrides={"trainer.epochs": 2, "name": "other"})
    as_texts = cloudgd.Job.from_yaml(path, overrides=["trainer.epochs=2", "name=other"])
    assert as_dict.spec == as_texts.spec
    assert as_dict.name == "other"


def test_a_bad_override_is_a_spec_error_naming_the_field(job_file: JobFile) -> None:
    with pytest.raises(cloudgd.SpecError, match=r"trainer\.epoch\b") as raised:
        cloudgd.Job.from_yaml(job_file(), overrides={"trainer.epoch": 2})
    assert raised.value.exit_code == 2


def test_a_spec_built_in_python_validates_and_plans() -> None:
    job = cloudgd.Job({"name": "py-job", "trainer": {"epochs": 2, "data": {"source": "digits"}}})
    assert job.validate().name == "py-job"
    assert job.plan("fake").job_name.startswith("py-job-")
    with pytest.raises(cloudgd.SpecError, match=r"trainer\.epochs"):
        cloudgd.Job({"name": "py-job", "trainer": {"epochs": -1}})


def test_a_python_spec_with_missing_local_data_is_a_spec_error(tmp_path: Path) -> None:
    spec = {"name": "py-job", "trainer": {"data": {"source": "csv", "uri": "train.csv"}}}
    with pytest.raises(cloudgd.SpecError, match=r"trainer\.data\.uri: no such file"):
        cloudgd.Job(spec, base_dir=tmp_path)
    (tmp_path / "train.csv").write_text("x,label\n1,0\n2,1\n", encoding="utf-8")
    assert cloudgd.Job(spec, base_dir=tmp_path).validate().name == "py-job"


def test_validate_rereads_the_file(job_file: JobFile) -> None:
    path = job_file()
    job = cloudgd.Job.from_yaml(path)
    path.write_text("name: tiny-job\ntrainer: {epochs: 0}\n", encoding="utf-8")
    with pytest.raises(cloudgd.SpecError, match=r"trainer\.epochs"):
        job.validate()


def test_submit_and_wait_then_follow_the_run_from_its_handle(job_file: JobFile) -> None:
    run = cloudgd.Job.from_yaml(job_file()).submit("fake", wait=True, poll=0.01)
    assert isinstance(run, cloudgd.Run)
    assert run.handle.startswith("fake://zone-1/tiny-job-")
    assert run.status().state is cloudgd.JobState.SUCCEEDED
    again = cloudgd.Run.from_handle(run.handle)
    assert again.status().metrics == {"val_loss": 0.25}
    assert list(again.logs()) == LOG_LINES


def test_submitting_the_same_spec_again_attaches_to_its_job(job_file: JobFile) -> None:
    job = cloudgd.Job.from_yaml(job_file())
    assert job.submit("fake").handle == job.submit("fake").handle


def test_a_failed_job_raises_job_failed_error_on_wait(job_file: JobFile) -> None:
    job = cloudgd.Job.from_yaml(job_file("env: {FAKE_OUTCOME: FAILED}\n"))
    with pytest.raises(cloudgd.JobFailedError, match="ended FAILED") as raised:
        job.submit("fake", wait=True, poll=0.01)
    assert raised.value.exit_code == 4
    run = cloudgd.Run.from_handle(job.plan("fake").handle)
    assert run.wait(poll=0.01, check=False).state is cloudgd.JobState.FAILED


def test_a_wait_timeout_leaves_the_job_running_and_cancel_stops_it(job_file: JobFile) -> None:
    run = cloudgd.Job.from_yaml(job_file("env: {FAKE_OUTCOME: FOREVER}\n")).submit("fake")
    with pytest.raises(cloudgd.WaitTimeoutError, match="still RUNNING") as raised:
        run.wait(timeout="1s", poll=0.2)
    assert raised.value.exit_code == 124
    assert run.cancel().state is cloudgd.JobState.CANCELLED


def test_a_provider_refusal_is_a_provider_error(job_file: JobFile) -> None:
    job = cloudgd.Job.from_yaml(job_file("env: {FAKE_OUTCOME: REFUSE}\n"))
    with pytest.raises(cloudgd.ProviderError, match="refused") as raised:
        job.submit("fake")
    assert raised.value.exit_code == 3


def test_an_unknown_provider_is_a_usage_error(job_file: JobFile) -> None:
    with pytest.raises(cloudgd.UsageError, match="unknown provider 'nope'"):
        cloudgd.Job.from_yaml(job_file()).plan("nope")


def test_cost_prices_the_job_on_each_cloud(job_file: JobFile) -> None:
    job = cloudgd.Job.from_yaml(job_file())
    providers = [estimate.provider for estimate in job.cost()]
    assert providers == ["aws", "gcp", "azure"]
    assert [estimate.provider for estimate in job.cost("gcp")] == ["gcp"]


def test_metrics_and_download_of_a_finished_local_run(local_run: WriteRun, tmp_path: Path) -> None:
    records = trainer_records(epochs=2, steps_per_epoch=4)
    folder = local_run(records=records)
    run = cloudgd.Run.from_handle(f"local://{folder}")
    everything = run.metrics()
    assert [r["step"] for r in everything] == [2, 4, 4, 6, 8, 8]
    epochs = run.metrics("epoch")
    assert [r["val_accuracy"] for r in epochs] == pytest.approx([0.6, 0.7])
    frame = run.metrics("step", dataframe=True)
    assert list(frame["step"]) == [2, 4, 6, 8] and "loss" in frame.columns
    dest = run.download(tmp_path / "out")
    assert (dest / "output" / "metrics.jsonl").is_file()
    with pytest.raises(cloudgd.UsageError, match="already exists"):
        run.download(dest)


def test_the_api_names_are_exported_lazily() -> None:
    assert {"Job", "Run", "SpecError", "JobFailedError", "WaitTimeoutError"} <= set(dir(cloudgd))
    with pytest.raises(AttributeError):
        _ = cloudgd.NoSuchThing  # type: ignore[attr-defined]

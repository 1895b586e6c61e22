"""The SageMaker contract, checked with Amazon's own code: ``--run-local`` on moto runs
``sagemaker-training`` (with ``sagemaker-pytorch-training``), as the AWS PyTorch images do.

A real single job and a real study at tiny size, each through the CLI in fresh
processes as a user runs them. The toolkit is in the ``rehearse`` extra, so CI runs
these; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.aws.toolkit import missing_toolkit
from tests.support.cli_process import REPO, Run, clean_env, cloudgd_processes, small_csv

MISSING = missing_toolkit()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        MISSING is not None,
        reason=f"{MISSING} is not installed (pip install 'cloudgd[rehearse]')",
    ),
]


@pytest.fixture
def cloudgd(tmp_path: Path) -> Iterator[Run]:
    # the toolkit's pip must find everything installed already
    env = clean_env(tmp_path / "home", drop=("AWS_", "CLOUDGD_"), extra={"PIP_NO_INDEX": "1"})
    with cloudgd_processes(tmp_path, env, servers=("moto",)) as run:
        yield run


JOB = """\
name: toolkit-contract
trainer:
  model: {kind: mlp, hidden: [8]}
  data: {source: csv, uri: s3://cloudgd-rehearsal/data/tiny/train.csv, target: label}
  epochs: 1
  batch_size: 16
resources: {accelerator: none}
distributed: {processes_per_node: 2}  # the toolkit's torchrun starts both
"""


def test_a_job_reads_its_s3_input_and_runs_through_the_real_toolkit(
    cloudgd: Run, tmp_path: Path
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(JOB)
    base = ("submit", str(job), "-p", "aws", "--backend", "moto", "--run-local")
    missing = cloudgd(*base, check=False)
    assert missing.returncode == 2  # refused at start, as SageMaker fails it
    assert (
        "input channel 'train' has no objects under s3://cloudgd-rehearsal/data/tiny/train.csv"
        in missing.stderr
    )
    control_plane_only = cloudgd("submit", str(job), "-p", "aws", "--backend", "moto",
                                 check=False)  # fmt: skip
    assert control_plane_only.returncode == 2  # moto alone would have "Completed" it
    assert "input channel 'train' has no objects" in control_plane_only.stderr
    data = small_csv(tmp_path / "train.csv")
    cloudgd("data", "upload", str(data), "s3://cloudgd-rehearsal/data/tiny/train.csv",
            "--backend", "moto")  # fmt: skip
    document = json.loads(cloudgd("-o", "json", *base, "--wait", "--poll", "0.2").stdout)
    assert document["state"] == "SUCCEEDED", document
    run_dir = Path(document["status"]["extra"]["rehearsal_run"].removeprefix("local://"))
    logs = (run_dir / "logs" / "job.log").read_text()
    assert "Amazon's in-container toolkit runs this job (sagemaker-training" in logs
    assert "Invoking script with the following command" in logs  # the toolkit's own line
    assert "Reporting training SUCCESS" in logs
    assert "torchrun --nnodes 1 --nproc_per_node 2 cloudgd_entry.py" in logs
    assert "world=2 platform=sagemaker" in logs
    # the request's HyperParameters, JSON-encoded strings as SageMaker writes them
    hps = json.loads((run_dir / "opt/ml/input/config/hyperparameters.json").read_text())
    assert hps["sagemaker_program"] == '"cloudgd_entry.py"'
    assert re.fullmatch(r'"s3://cloudgd-rehearsal/cloudgd/code/cloudgd-bundle-\w+\.tar\.gz"',
                        hps["sagemaker_submit_directory"])  # fmt: skip
    assert (run_dir / "opt/ml/code/cloudgd_entry.py").is_file()  # the toolkit unpacked it
    assert (run_dir / "opt/ml/input/data/train/train.csv").read_text() == data.read_text()


def test_every_tuning_trial_runs_through_the_toolkit_with_sagemakers_arguments(
    cloudgd: Run, tmp_path: Path
) -> None:
    done = cloudgd(
        "-o", "json", "tune", str(REPO / "examples" / "digits-tune.yaml"), "-p", "aws",
        "--backend", "moto", "--run-local", "--wait",
        "--set", "trainer.epochs=1", "--set", "tuning.max_trials=2",
        "--set", "tuning.early_stopping=false",
    )  # fmt: skip
    study = json.loads(done.stdout)
    assert study["state"] == "SUCCEEDED"
    assert "kind=tuning" in study["rehearsal_of"] and "backend=moto" in study["rehearsal_of"]
    trials = study["trials"]
    assert [t["state"] for t in trials] == ["SUCCEEDED", "SUCCEEDED"]
    for trial in trials:
        run_dir = Path(trial["handle"].removeprefix("local://"))
        log = (run_dir / "logs" / "job.log").read_text()
        command = re.search(r"-- cloudgd_entry\.py (.*)", log)
        assert command, log[-2000:]
        lr = trial["params"]["trainer.optimizer.lr"]
        # the toolkit's own form: --name value, values as SageMaker wrote them
        assert f"--trainer.optimizer.lr {lr}" in command.group(1)
        shipped = json.loads((run_dir / "opt/ml/code/cloudgd-job.json").read_text())
        assert shipped["optimizer"]["lr"] == 3e-3  # never written into the config
        hps = json.loads((run_dir / "opt/ml/input/config/hyperparameters.json").read_text())
        assert hps["_tuning_objective_metric"] == "val_loss"
        assert hps["trainer.optimizer.lr"] == str(lr)


FORGETFUL = """\
name: toolkit-forgets
code: code
trainer:
  model: {kind: custom, entrypoint: 'mymodel:build'}
  data: {source: csv, uri: s3://cloudgd-rehearsal/data/tiny/train.csv, target: label}
  epochs: 1
resources: {accelerator: none}
"""

MODEL = """\
import optuna  # the job's code uses it; neither the image nor requirements.txt has it
from torch import nn


def build(input_shape, num_outputs):
    return nn.Linear(input_shape[0], num_outputs)
"""


def test_a_package_the_job_does_not_declare_fails_the_rehearsal_as_on_sagemaker(
    cloudgd: Run, tmp_path: Path
) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "mymodel.py").write_text(MODEL)
    job = tmp_path / "job.yaml"
    job.write_text(FORGETFUL)
    data = small_csv(tmp_path / "train.csv")
    cloudgd("data", "upload", str(data), "s3://cloudgd-rehearsal/data/tiny/train.csv",
            "--backend", "moto")  # fmt: skip
    done = cloudgd("-o", "json", "submit", str(job), "-p", "aws", "--backend", "moto",
                   "--run-local", "--wait", "--poll", "0.2", check=False)  # fmt: skip
    # optuna is installed where cloudgd runs (it tunes with it), but the toolkit's
    # environment holds only the image's packages and requirements.txt's
    document = json.loads(done.stdout)
    assert document["state"] == "FAILED", document
    message = document["status"]["message"]
    assert message.startswith("No module named 'optuna': the AWS PyTorch training image"), message
    run_dir = Path(document["status"]["extra"]["rehearsal_run"].removeprefix("local://"))
    assert "Amazon's in-container toolkit runs this job" in (run_dir / "logs/job.log").read_text()

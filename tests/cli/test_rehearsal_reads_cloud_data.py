"""``--run-local`` on gcp and azure reads its data through the cloud path, as aws does.

The data goes to the fake's store with ``cloudgd data upload`` (the provider's
``upload_data``); the submit checks it is there, and the local run trains on a copy
downloaded from that store into the channel dir the cloud would present: the Vertex
``/gcs`` data the trainer's ``--data-dir`` names, Azure ML's ``${{inputs.train}}``.
Each step is a fresh ``python -m cloudgd`` process, as a user runs them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_process import Run, clean_env, cloudgd_processes, small_csv

pytestmark = pytest.mark.slow


@pytest.fixture
def cloudgd(tmp_path: Path) -> Iterator[Run]:
    env = clean_env(tmp_path / "home")
    with cloudgd_processes(tmp_path, env, servers=("gcp-fake", "azure-fake"), timeout=300) as run:
        yield run


JOB = """\
name: cloud-data
trainer:
  model: {{kind: mlp, hidden: [8]}}
  data: {{source: csv, uri: {uri}, target: label}}
  epochs: 1
  batch_size: 16
resources: {{accelerator: none}}
"""

CASES = {
    # Vertex: the object, read through /gcs; the local run's --data-dir holds it
    "gcp": ("gs://cloudgd-rehearsal/data/tiny/train.csv", "data/train"),
    # Azure ML: the folder holding the file, mounted at ${{inputs.train}}
    "azure": (
        "azureml://datastores/workspaceblobstore/paths/data/tiny/train.csv",
        "azureml/inputs/train",
    ),
}


@pytest.mark.parametrize("cloud", sorted(CASES))
def test_a_rehearsal_trains_on_the_data_uploaded_to_the_fake_store(
    cloudgd: Run, tmp_path: Path, cloud: str
) -> None:
    uri, channel_dir = CASES[cloud]
    job = tmp_path / "job.yaml"
    job.write_text(JOB.format(uri=uri))
    base = ("-o", "json", "submit", str(job), "-p", cloud, "--backend", "fake", "--run-local")
    missing = cloudgd(*base, check=False)
    assert missing.returncode == 2  # refused at submit, as the cloud job would fail
    assert f"input channel 'train' reads {uri}, which does not exist" in missing.stderr
    data = small_csv(tmp_path / "train.csv")
    cloudgd("data", "upload", str(data), uri, "-p", cloud, "--backend", "fake")
    document = json.loads(cloudgd(*base, "--wait", "--poll", "0.2").stdout)
    assert document["state"] == "SUCCEEDED", document
    assert document["metrics"]["steps"] > 0
    run_dir = Path(document["handle"].split("run=", 1)[1].replace("%2F", "/"))
    assert (run_dir / channel_dir / "train.csv").read_text() == data.read_text()


@pytest.mark.parametrize("cloud", sorted(CASES))
def test_every_tuning_trial_trains_on_the_data_uploaded_to_the_fake_store(
    cloudgd: Run, tmp_path: Path, cloud: str
) -> None:
    uri, channel_dir = CASES[cloud]
    job = tmp_path / "job.yaml"
    tuning = "tuning:\n  metric: {name: val_loss, goal: minimize}\n  max_trials: 2\n"
    tuning += "  parameters:\n    trainer.optimizer.lr: {type: uniform, min: 0.001, max: 0.01}\n"
    job.write_text(JOB.format(uri=uri) + tuning)
    data = small_csv(tmp_path / "train.csv")
    cloudgd("data", "upload", str(data), uri, "-p", cloud, "--backend", "fake")
    done = cloudgd("-o", "json", "tune", str(job), "-p", cloud, "--backend", "fake",
                   "--run-local", "--wait")  # fmt: skip
    study = json.loads(done.stdout)
    assert [t["state"] for t in study["trials"]] == ["SUCCEEDED", "SUCCEEDED"], study
    for trial in study["trials"]:
        run_dir = Path(trial["handle"].removeprefix("local://"))
        assert (run_dir / channel_dir / "train.csv").read_text() == data.read_text()

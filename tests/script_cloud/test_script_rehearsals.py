"""examples/byo-script plans on every cloud and rehearses on each cloud's rehearsal backend.

``submit --run-local`` sends the script job's request to moto / the fake Vertex server /
the fake Azure ML server (which check the control plane and that every input channel's
data is in their store), then runs the job here the way that cloud would: on aws
Amazon's own sagemaker-training toolkit downloads the bundle, pip-installs its
requirements.txt and runs the launcher; on gcp the rendered pythonPackageSpec runs (the
uploaded sdist pip-installed, then python -m <pythonModule> <args>); on azure the
rendered command runs, substituted, in a copy of the uploaded code snapshot; both on
copies of the fake store's data.
Each step is a fresh ``python -m cloudgd`` process, as a user runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from providers.aws.toolkit import missing_toolkit

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "byo-script"
JOB = str(EXAMPLE / "job.yaml")
DATA = EXAMPLE / "data" / "train.csv"
Run = Callable[..., subprocess.CompletedProcess[str]]
SHORT = ("--set", 'script.args=["--epochs", "2", "--hidden", "8"]')
# where each cloud keeps the example's data, and where its job shows it to the script
CLOUDS = {
    "aws": ("moto", "s3://cloudgd-rehearsal/byo/train/", "opt/ml/input/data/train"),
    # the run dir's gcs/ stands in for Vertex's Cloud Storage FUSE mount /gcs/
    "gcp": ("fake", "gs://cloudgd-rehearsal/byo/train/", "gcs/cloudgd-rehearsal/byo/train"),
    "azure": (
        "fake",
        "azureml://datastores/workspaceblobstore/paths/byo/train/",
        "azureml/inputs/train",
    ),
}
SERVERS = ("moto", "gcp-fake", "azure-fake")
TRIAL_RUNS_AS = {  # what each trial's log says runs it
    "aws": "Amazon's in-container toolkit runs this job",
    "gcp": "Vertex python-package mode runs this job",
    "azure": "Azure ML's command job runs this job",
}
MISSING = missing_toolkit()


@pytest.fixture
def cloudgd(tmp_path: Path) -> Iterator[Run]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDGD_"))},
        "PYTHONPATH": str(REPO),
        "CLOUDGD_HOME": str(tmp_path / "home"),
        "OMP_NUM_THREADS": "1",
        "PIP_NO_INDEX": "1",  # the toolkit's pip must find everything installed already
    }
    env.pop("GITHUB_SHA", None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "cloudgd", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    yield run
    stop = "from cloudgd import servers\n" + "".join(f"servers.stop({s!r})\n" for s in SERVERS)
    subprocess.run([sys.executable, "-c", stop], env=env, timeout=60, check=False)


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_the_example_plans_on_every_cloud(cloudgd: Run, cloud: str) -> None:
    backend, uri, _ = CLOUDS[cloud]
    done = cloudgd("-o", "json", "plan", JOB, "-p", cloud, "--backend", backend,
                   "--set", f"script.inputs.train={uri}")  # fmt: skip
    plan = json.loads(done.stdout)
    assert plan["summary"]["script"] == "python train.py --epochs 8 --hidden 32"
    assert plan["summary"]["inputs"] == {"train": uri}
    # what runs: the launcher, on every cloud in that cloud's own way
    text = json.dumps(plan["request"])
    assert "cloudgd_script.py" in text if cloud == "aws" else "trainers.script_launch" in text
    # a local path cannot reach a cloud job: one line naming the field
    local = cloudgd("plan", JOB, "-p", cloud, "--backend", backend, check=False)
    assert local.returncode == 2
    assert local.stderr.startswith("cloudgd: error: script.inputs.train: "), local.stderr


@pytest.mark.slow
@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_the_example_rehearses_on_each_clouds_backend(
    cloudgd: Run, tmp_path: Path, cloud: str
) -> None:
    if cloud == "aws" and MISSING is not None:
        pytest.skip(f"{MISSING} is not installed (pip install 'cloudgd[rehearse]')")
    backend, uri, channel_dir = CLOUDS[cloud]
    base = ("-o", "json", "submit", JOB, "-p", cloud, "--backend", backend, "--run-local",
            "--set", f"script.inputs.train={uri}", *SHORT)  # fmt: skip
    missing = cloudgd(*base, check=False)
    assert missing.returncode == 2  # refused before the job exists, as the cloud fails it
    assert "script.inputs.train: input channel 'train'" in missing.stderr, missing.stderr
    # --data-from uploads to the first input channel's URI first
    document = json.loads(
        cloudgd(*base, "--data-from", str(DATA), "--wait", "--poll", "0.2").stdout
    )
    assert document["state"] == "SUCCEEDED", document
    assert document["metrics"]["val_loss"] > 0, document["metrics"]  # the collected metric
    run_dir = Path(unquote(document["handle"].split("run=", 1)[1].split("&", 1)[0]))
    log = (run_dir / "logs" / "job.log").read_text()
    assert "cloudgd script: train.py --epochs 2 --hidden 8" in log, log[-3000:]
    assert (run_dir / channel_dir / "train.csv").read_text() == DATA.read_text()
    if cloud == "aws":  # Amazon's toolkit installed requirements.txt and ran the launcher
        assert "Amazon's in-container toolkit runs this job" in log
        assert "Installing dependencies from requirements.txt" in log
        assert "Reporting training SUCCESS" in log
    if cloud == "gcp":  # Vertex's python-package mode: the uploaded sdist, pip-installed
        assert "Vertex python-package mode runs this job" in log, log[-3000:]
        assert "pip installed cloudgd-trainer-" in log, log[-3000:]
        plan = json.loads((run_dir / "plan.json").read_text())["request"]
        assert plan["ranks"][0]["argv"][1:] == [
            "-m", "trainers.script_launch",
            "--cloudgd-data", f"train={run_dir}/gcs/cloudgd-rehearsal/byo/train",
        ]  # fmt: skip
    if cloud == "azure":  # the rendered command, substituted, from the uploaded snapshot
        assert "Azure ML's command job runs this job: bash -c 'python -m trainers" in log
        azureml = run_dir / "azureml"
        assert f"--cloudgd-data train={azureml}/inputs/train'" in log, log[-3000:]
        assert (azureml / "wd" / "code" / "train.py").is_file()  # the snapshot's copy
        assert (azureml / "outputs" / "model" / "model.pt").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_a_study_over_a_script_argument_rehearses_with_each_trials_value(
    cloudgd: Run, cloud: str
) -> None:
    if cloud == "aws" and MISSING is not None:
        pytest.skip(f"{MISSING} is not installed (pip install 'cloudgd[rehearse]')")
    backend, uri, channel_dir = CLOUDS[cloud]
    cloudgd("data", "upload", str(DATA), uri, "-p", cloud, "--backend", backend)
    done = cloudgd("-o", "json", "tune", JOB, "-p", cloud, "--backend", backend, "--run-local",
                   "--wait", "--set", f"script.inputs.train={uri}", *SHORT,
                   "--set", "tuning.max_trials=2")  # fmt: skip
    study = json.loads(done.stdout)
    assert [t["state"] for t in study["trials"]] == ["SUCCEEDED", "SUCCEEDED"], study
    for trial in study["trials"]:
        run_dir = Path(trial["handle"].removeprefix("local://"))
        log = (run_dir / "logs" / "job.log").read_text()
        # each cloud's own way: SageMaker's toolkit passes --lr VALUE, Vertex appends
        # --lr=VALUE to the package's args, Azure ML substitutes ${{search_space.*}}
        lr = trial["params"]["script.args.lr"]
        passed = f"--lr={lr}" if cloud == "gcp" else f"--lr {lr}"
        assert f"cloudgd script: train.py --epochs 2 --hidden 8 {passed}" in log, log[-2000:]
        assert TRIAL_RUNS_AS[cloud] in log, log[-2000:]
        assert (run_dir / channel_dir / "train.csv").read_text() == DATA.read_text()

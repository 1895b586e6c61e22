"""Each classic example runs on the local provider with its cloud's container contract
emulated, on CPU at a reduced size: exactly the command its walkthrough shows, read
from the walkthrough itself so the docs cannot drift from what is tested.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from classics_helpers import EXAMPLES, REPO, WALKTHROUGHS

# The offline stand-ins the walkthroughs name, replaced by this test's own copies.
TINY_BERT_IN_DOCS = "/tmp/tiny-bert"


def walkthrough_command(example: str) -> list[str]:
    """The `cloudgd submit examples/<example>.yaml -p local ...` command of its walkthrough."""
    text = (WALKTHROUGHS / f"{example}.md").read_text().replace("\\\n", " ")
    start = f"cloudgd submit examples/{example}.yaml -p local"
    [line] = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(start)]
    return shlex.split(line)[1:]


def submit(args: list[str], cwd: Path) -> dict[str, Any]:
    """Run the walkthrough's command in ``cwd``, with ``$PWD`` expanded as the shell would."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    args = [arg.replace("$PWD", str(cwd)) for arg in args]
    done = subprocess.run(
        [sys.executable, "-m", "cloudgd", "-o", "json", *args, "--poll", "0.2"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def workdir(tmp_path: Path) -> Path:
    (tmp_path / "examples").symlink_to(EXAMPLES)
    return tmp_path


def run_dir(document: dict[str, Any]) -> Path:
    return Path(document["handle"].removeprefix("local://").split("?")[0])


def epochs(log: str) -> list[str]:
    return [line for line in log.splitlines() if "[epoch]" in line]


@pytest.mark.slow
def test_sagemaker_mlp_runs_in_the_emulated_sagemaker_container(
    tmp_path: Path, digits_csv: Path
) -> None:
    cwd = workdir(tmp_path)
    (cwd / "digits.csv").symlink_to(digits_csv)
    args = walkthrough_command("sagemaker-mlp")
    assert "providers.local.emulate=aws" in args
    document = submit(args, cwd)
    assert document["state"] == "SUCCEEDED"
    run = run_dir(document)
    assert (run / "opt/ml/input/data/train").exists()  # the `train` channel
    assert (run / "opt/ml/model/model.pt").is_file()
    assert any((run / "opt/ml/checkpoints").iterdir())
    log = (run / "logs/job.log").read_text()
    assert "platform=sagemaker" in log
    first, last = epochs(log)[0], epochs(log)[-1]
    val_loss = [float(line.split("val_loss=")[1].split()[0]) for line in (first, last)]
    assert val_loss[1] < val_loss[0]


@pytest.mark.slow
def test_vertex_bert_fine_tunes_a_tiny_bert_in_the_emulated_vertex_container(
    tmp_path: Path, tiny_bert: Path
) -> None:
    cwd = workdir(tmp_path)
    args = [
        a.replace(TINY_BERT_IN_DOCS, str(tiny_bert)) for a in walkthrough_command("vertex-bert")
    ]
    assert "providers.local.emulate=gcp" in args and f"trainer.model.name={tiny_bert}" in args
    document = submit(args, cwd)
    assert document["state"] == "SUCCEEDED"
    run = run_dir(document)
    assert (run / "aip/model/hf/config.json").is_file()  # AIP_MODEL_DIR, HF layout
    log = (run / "logs/job.log").read_text()
    assert "training huggingface on text_csv" in log and "platform=vertex" in log
    val_loss = [float(line.split("val_loss=")[1].split()[0]) for line in epochs(log)]
    assert val_loss[-1] < val_loss[0]


@pytest.mark.slow
def test_azure_cnn_trains_with_two_gloo_ranks_in_the_emulated_azure_ml_job(
    tmp_path: Path,
) -> None:
    cwd = workdir(tmp_path)
    args = walkthrough_command("azure-cnn-ddp")
    assert "providers.local.emulate=azure" in args
    document = submit(args, cwd)
    assert document["state"] == "SUCCEEDED"
    run = run_dir(document)
    assert (run / "azureml/outputs/model/model.pt").is_file()
    log = (run / "logs/job.log").read_text()
    assert "started 2 rank(s)" in log and "world=2 platform=azureml" in log
    summary = json.loads(next(run.rglob("summary.json")).read_text())
    # linear scaling: 0.05 x (32 per rank x 2 ranks / 32) = 0.1
    assert summary["world_size"] == 2 and summary["global_batch"] == 64
    assert summary["base_lr"] == pytest.approx(0.1)

"""`python -m trainers.launch`: one trainer process per GPU on a Vertex AI machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainers.launch import torchrun_argv

REPO = Path(__file__).resolve().parents[2]


def cluster_spec(task: str, index: int, workers: int) -> str:
    return json.dumps(
        {
            "cluster": {
                "workerpool0": ["cmle-training-workerpool0-ab-0:2222"],
                "workerpool1": [f"cmle-training-workerpool1-ab-{i}:2222" for i in range(workers)],
            },
            "environment": "cloud",
            "task": {"type": task, "index": index, "trial": ""},
        }
    )


def test_one_machine_runs_torchrun_standalone() -> None:
    env = {"CLUSTER_SPEC": cluster_spec("workerpool0", 0, 0)}
    argv = torchrun_argv(8, env, ["--config", "job.json"])
    assert argv[1:] == [
        "-m",
        "torch.distributed.run",
        "--nproc-per-node=8",
        "--standalone",
        "-m",
        "trainers",
        "--config",
        "job.json",
    ]


def test_a_worker_machine_joins_the_primary_with_its_node_rank() -> None:
    env = {"CLUSTER_SPEC": cluster_spec("workerpool1", 1, 2)}  # third machine of three
    argv = torchrun_argv(4, env, [])
    assert "--nnodes=3" in argv
    assert "--node-rank=2" in argv
    assert "--master-addr=cmle-training-workerpool0-ab-0" in argv
    assert "--master-port=2222" in argv
    assert "--standalone" not in argv


@pytest.mark.slow
def test_two_processes_on_one_emulated_vertex_machine_train_as_world_two(tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"epochs": 1, "data": {"limit": 300}, "device": "cpu"}))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "CLUSTER_SPEC": cluster_spec("workerpool0", 0, 0),
        "CLOUD_ML_JOB_ID": "123",
    }
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    out = tmp_path / "out"
    args = ["--config", str(config), "--output-dir", str(out / "o")]
    args += ["--model-dir", str(out / "m"), "--checkpoint-dir", str(out / "c")]
    done = subprocess.run(
        [sys.executable, "-m", "trainers.launch", "--nproc-per-node", "2", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "o" / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["platform"] == "vertex"

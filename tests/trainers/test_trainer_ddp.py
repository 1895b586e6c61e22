"""DDP: two gloo processes (with accumulation, batch norm, L-BFGS) equal one process on the
same global batch."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from trainer_helpers import read_metrics, read_summary, subprocess_env

from trainers.config import ModelConfig
from trainers.models import build_model

REPO = Path(__file__).resolve().parents[2]

DDP_JOB: dict[str, Any] = {
    "model": {"kind": "mlp", "hidden": [16]},
    "data": {"source": "synthetic_classification", "n_samples": 400, "n_features": 8},
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    "schedule": {"name": "cosine"},
    "clip_grad_norm": 5.0,
    "epochs": 3,
    "log_every_steps": 5,
    "device": "cpu",  # the claim under test is about CPU (gloo / bit-exact)
    "num_threads": 1,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch_ranks(run_dir: Path, world: int, job: dict[str, Any]) -> list[str]:
    """Start ``world`` trainer processes the way torchrun would; returns their stderr."""
    run_dir.mkdir(parents=True)
    (run_dir / "job.json").write_text(json.dumps(job))
    port = free_port()
    procs = []
    for rank in range(world):
        env = subprocess_env(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(world),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
        )
        args = [sys.executable, "-m", "trainers", "--config", str(run_dir / "job.json")]
        for flag, sub in (
            ("--model-dir", "model"),
            ("--output-dir", "out"),
            ("--checkpoint-dir", "ckpt"),
        ):
            args += [flag, str(run_dir / sub)]
        procs.append(
            subprocess.Popen(
                args, cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        )
    errors = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail("DDP ranks did not finish within 240 s")
        assert proc.returncode == 0, err.decode()
        errors.append(err.decode())
    return errors


def assert_same_training(one_dir: Path, two_dir: Path) -> None:
    """Final weights (and batch-norm running statistics), per-epoch train loss and final
    validation metrics of the two runs agree up to float summation order."""
    one = torch.load(one_dir / "model" / "model_final.pt", weights_only=True)
    two = torch.load(two_dir / "model" / "model_final.pt", weights_only=True)
    assert one.keys() == two.keys()
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)

    s1, s2 = read_summary(one_dir), read_summary(two_dir)
    assert s2["world_size"] == 2
    assert (s2["global_batch"], s2["steps"]) == (s1["global_batch"], s1["steps"])
    assert s2["final"]["val_loss"] == pytest.approx(s1["final"]["val_loss"], rel=1e-4)
    assert s2["final"]["val_accuracy"] == s1["final"]["val_accuracy"]
    epochs = [
        [r["loss"] for r in read_metrics(d) if r["kind"] == "epoch"] for d in (one_dir, two_dir)
    ]
    assert epochs[1] == pytest.approx(epochs[0], rel=1e-4)


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_on_the_same_global_batch(run_trainer, tmp_path) -> None:
    code, single = run_trainer({**DDP_JOB, "batch_size": 32}, name="single")
    assert code == 0
    ddp = tmp_path / "ddp"
    # 2 ranks x 2 micro-batches of 8: gradients sync only on each step's last micro-batch
    launch_ranks(ddp, 2, {**DDP_JOB, "batch_size": 8, "grad_accum_steps": 2})
    assert_same_training(single, ddp)
    # only rank 0 wrote: one record per epoch, not two
    assert [r["epoch"] for r in read_metrics(ddp) if r["kind"] == "epoch"] == [1, 2, 3]


@pytest.mark.slow
def test_batch_norm_on_shards_normalises_the_whole_global_batch(run_trainer, tmp_path) -> None:
    """Each rank holds its shard, and its share of a micro-batch of 6 rows is anything from
    0 to 6 rows; batch norm still uses the 6 rows' statistics, as one process does."""
    job = {
        **DDP_JOB,
        "model": {"kind": "mlp", "hidden": [16, 8], "batch_norm": True},
        "data": {**DDP_JOB["data"], "n_samples": 120},
        "epochs": 2,
    }
    code, single = run_trainer({**job, "batch_size": 6}, name="single")
    assert code == 0
    launch_ranks(tmp_path / "ddp", 2, {**job, "batch_size": 3})
    assert_same_training(single, tmp_path / "ddp")
    # the saved model is the ordinary one: its batch-norm layers load as BatchNorm1d
    state = torch.load(tmp_path / "ddp" / "model" / "model_final.pt", weights_only=True)
    plain = build_model(ModelConfig(**job["model"]), (8,), state["3.weight"].shape[0])
    plain.load_state_dict(state)
    assert int(state["1.1.num_batches_tracked"]) == read_summary(single)["steps"]


@pytest.mark.slow
def test_lbfgs_on_shards_searches_the_global_loss(run_trainer, tmp_path) -> None:
    """Full-batch L-BFGS (its usual use) on two shards of unequal size: the line search
    sees the whole batch's loss, L2 penalty included, on both ranks, as one process does.
    (Mini-batch L-BFGS magnifies float-order differences, e.g. one process summing its
    loss in two halves, to percents within a few steps, so it cannot be compared.)"""
    job = {
        **DDP_JOB,
        "optimizer": {"name": "lbfgs", "lr": 1.0, "weight_decay": 0.01},
        "schedule": {"name": "constant"},
        "log_every_steps": 1,
    }
    code, single = run_trainer({**job, "batch_size": 400}, name="single")
    assert code == 0
    launch_ranks(tmp_path / "ddp", 2, {**job, "batch_size": 200})
    assert_same_training(single, tmp_path / "ddp")

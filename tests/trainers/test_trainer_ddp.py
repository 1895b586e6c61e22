"""DDP: two gloo processes (with accumulation) equal one process on the same global batch."""

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


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_on_the_same_global_batch(run_trainer, tmp_path) -> None:
    code, single = run_trainer({**DDP_JOB, "batch_size": 32}, name="single")
    assert code == 0
    ddp = tmp_path / "ddp"
    # 2 ranks x 2 micro-batches of 8: gradients sync only on each step's last micro-batch
    launch_ranks(ddp, 2, {**DDP_JOB, "batch_size": 8, "grad_accum_steps": 2})

    one = torch.load(single / "model" / "model_final.pt", weights_only=True)
    two = torch.load(ddp / "model" / "model_final.pt", weights_only=True)
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)

    s1, s2 = read_summary(single), read_summary(ddp)
    assert (s2["world_size"], s2["global_batch"], s2["steps"]) == (2, 32, s1["steps"])
    assert s2["final"]["val_loss"] == pytest.approx(s1["final"]["val_loss"], rel=1e-4)
    assert s2["final"]["val_accuracy"] == s1["final"]["val_accuracy"]
    # only rank 0 wrote: one record per epoch, not two
    assert [r["epoch"] for r in read_metrics(ddp) if r["kind"] == "epoch"] == [1, 2, 3]

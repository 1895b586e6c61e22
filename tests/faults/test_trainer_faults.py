"""The trainer killed at random moments: resumes stay bit-identical, checkpoints stay whole.

Real ``python -m trainers`` subprocesses on CPU. Kill moments are drawn from a
seeded RNG (several seeds), so the kills land anywhere: mid-step, mid-checkpoint
write, right after one. The sleeps only choose *when* to kill; nothing asserts
on timing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from trainers.checkpoint import list_checkpoints, load_latest
from trainers.errors import EXIT_PREEMPTED

REPO = Path(__file__).resolve().parents[2]

# Dropout, weight decay, warmup + cosine, mid-epoch checkpoints: everything that would
# drift if an RNG state, the schedule or the data position were not restored.
RESUMABLE: dict[str, Any] = {
    "model": {"kind": "mlp", "hidden": [32, 32], "dropout": 0.2},
    "data": {"source": "synthetic_classification", "n_samples": 600, "n_features": 10},
    "optimizer": {"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
    "schedule": {"name": "warmup_cosine", "warmup_steps": 20},
    "epochs": 10,
    "batch_size": 8,
    "checkpoint": {"every_steps": 25, "keep_last": 2},
    "log_every_steps": 50,
    "num_threads": 1,
}
TOTAL_STEPS = 10 * 60  # 480 training rows / 8 per epoch
# Checkpoints at every step of a model large enough that writing one takes a while:
# most random moments fall inside a write.
HEAVY: dict[str, Any] = {
    "model": {"kind": "mlp", "hidden": [512, 512]},
    "data": {"source": "synthetic_classification", "n_samples": 400, "n_features": 64},
    "optimizer": {"name": "adamw", "lr": 0.001},
    "epochs": 1000,
    "batch_size": 32,
    "checkpoint": {"every_steps": 1, "keep_last": 3},
    "log_every_steps": 1000,
    "num_threads": 1,
}


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "AIP_", "AZUREML_"))}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TF_CONFIG"):
        env.pop(name, None)
    return {**env, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def start(run_dir: Path, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "job.json").write_text(json.dumps(config))
    argv = [sys.executable, "-m", "trainers", "--config", str(run_dir / "job.json")]
    for flag in ("model", "output", "checkpoint"):
        argv += [f"--{flag}-dir", str(run_dir / flag)]
    return subprocess.Popen(
        argv, cwd=run_dir, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def run_to_end(run_dir: Path, config: dict[str, Any]) -> None:
    proc = start(run_dir, config)
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""


def wait_for_step(proc: subprocess.Popen[bytes], ckpt_dir: Path, step: int) -> bool:
    """Wait until a checkpoint at ``step`` or later exists; False if the run ended first."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = list_checkpoints(ckpt_dir)
        if found and found[-1][0] >= step:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no checkpoint appeared within 180 s")


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    weights: dict[str, torch.Tensor] = torch.load(
        run_dir / "model" / "model_final.pt", weights_only=True
    )
    return weights


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    run_dir = tmp_path_factory.mktemp("reference")
    run_to_end(run_dir, RESUMABLE)
    return final_weights(run_dir)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 22, 33])
def test_sigkill_at_random_steps_then_resume_gives_bit_identical_weights(
    tmp_path: Path, reference: dict[str, torch.Tensor], seed: int
) -> None:
    rng = random.Random(seed)
    run_dir = tmp_path / "killed"
    kills = sorted(rng.sample(range(30, TOTAL_STEPS - 60), 2))
    for kill_step in kills:
        proc = start(run_dir, RESUMABLE)
        if not wait_for_step(proc, run_dir / "checkpoint", kill_step):
            pytest.fail(f"the run ended before step {kill_step}: {proc.returncode}")
        time.sleep(rng.uniform(0.0, 0.05))  # land between checkpoints, not just after one
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL

    run_to_end(run_dir, RESUMABLE)

    summary = json.loads((run_dir / "output" / "summary.json").read_text())
    assert summary["resumed_from_step"] >= kills[-1]
    assert summary["steps"] == TOTAL_STEPS
    resumed = final_weights(run_dir)
    assert resumed.keys() == reference.keys()
    for key in reference:
        assert torch.equal(resumed[key], reference[key]), f"seed {seed}: {key} differs"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_signals_during_checkpoint_writes_never_leave_a_corrupt_latest_checkpoint(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    run_dir = tmp_path / "heavy"
    ckpt = run_dir / "checkpoint"
    for round_ in range(2):
        proc = start(run_dir, HEAVY)
        assert wait_for_step(proc, ckpt, 1 + 2 * round_)
        time.sleep(rng.uniform(0.0, 0.3))
        sig = rng.choice([signal.SIGTERM, signal.SIGKILL])
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
        assert code == (EXIT_PREEMPTED if sig == signal.SIGTERM else -signal.SIGKILL)

        listed = list_checkpoints(ckpt)
        assert listed, "no checkpoint left"
        for _step, path in listed:  # every checkpoint the trainer would consider loads whole
            state = torch.load(path, map_location="cpu", weights_only=False)
            assert isinstance(state, dict), path
        latest = load_latest(ckpt)
        assert latest is not None and latest[1] == listed[-1][1]
        if sig == signal.SIGTERM:  # a clean stop checkpoints exactly where it stopped
            summary = json.loads((run_dir / "output" / "summary.json").read_text())
            assert listed[-1][0] == summary["steps"]

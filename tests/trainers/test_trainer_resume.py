"""Interrupted runs: SIGKILL and SIGTERM mid-run, then resume to bit-identical weights."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from trainer_helpers import read_metrics, read_summary, subprocess_env

from trainers.checkpoint import list_checkpoints
from trainers.errors import EXIT_PREEMPTED

REPO = Path(__file__).resolve().parents[2]

# Dropout, weight decay, warmup + cosine and mid-epoch checkpoints: everything that
# would drift if an RNG state, the schedule or the data position were not restored.
RESUMABLE: dict[str, Any] = {
    "model": {"kind": "mlp", "hidden": [32, 32], "dropout": 0.2},
    "data": {"source": "synthetic_classification", "n_samples": 1000, "n_features": 10},
    "optimizer": {"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
    "schedule": {"name": "warmup_cosine", "warmup_steps": 20},
    "epochs": 40,
    "batch_size": 8,
    "checkpoint": {"every_steps": 30, "keep_last": 2},
    "log_every_steps": 50,
    "device": "cpu",  # the claim under test is about CPU (gloo / bit-exact)
    "num_threads": 1,
}
INTERRUPT_AFTER_STEP = 600  # of 4,000


def start(run_dir: Path) -> subprocess.Popen[bytes]:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "job.json").write_text(json.dumps(RESUMABLE))
    args = [
        sys.executable,
        "-m",
        "trainers",
        "--config",
        str(run_dir / "job.json"),
        "--model-dir",
        str(run_dir / "model"),
        "--output-dir",
        str(run_dir / "out"),
        "--checkpoint-dir",
        str(run_dir / "ckpt"),
    ]
    env = subprocess_env()
    return subprocess.Popen(
        args, cwd=run_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_for_checkpoint(proc: subprocess.Popen[bytes], ckpt_dir: Path, step: int) -> None:
    deadline = time.monotonic() + 300  # a loaded 2-core machine can be this slow
    while time.monotonic() < deadline:
        found = list_checkpoints(ckpt_dir)
        if found and found[-1][0] >= step:
            return
        if proc.poll() is not None:
            pytest.fail(f"trainer exited early ({proc.returncode}): {proc.stderr.read()!r}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no checkpoint appeared within 300 s")


def assert_same_run(a: Path, b: Path) -> None:
    wa = torch.load(a / "model" / "model_final.pt", weights_only=True)
    wb = torch.load(b / "model" / "model_final.pt", weights_only=True)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key

    def comparable(run: Path) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in r.items() if k not in ("samples_per_sec", "data_wait")}
            for r in read_metrics(run)
        ]

    assert comparable(a) == comparable(b)


@pytest.mark.slow
def test_interrupted_runs_resume_to_bit_identical_weights(run_trainer, tmp_path: Path) -> None:
    code, reference = run_trainer(RESUMABLE, name="reference")
    assert code == 0

    # SIGKILL: no chance to save; the restart continues from the last periodic checkpoint.
    killed = tmp_path / "killed"
    proc = start(killed)
    wait_for_checkpoint(proc, killed / "ckpt", INTERRUPT_AFTER_STEP)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    last_step = list_checkpoints(killed / "ckpt")[-1][0]
    assert last_step < 4_000
    code, _ = run_trainer(RESUMABLE, name="killed")
    assert code == 0
    assert read_summary(killed)["resumed_from_step"] >= last_step
    assert_same_run(reference, killed)

    # SIGTERM: checkpoint at the next step boundary, exit 143, then resume.
    termed = tmp_path / "termed"
    proc = start(termed)
    wait_for_checkpoint(proc, termed / "ckpt", INTERRUPT_AFTER_STEP)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == EXIT_PREEMPTED
    summary = read_summary(termed)
    assert summary["stopped_reason"] == "preempted"
    stopped_at = summary["steps"]
    assert list_checkpoints(termed / "ckpt")[-1][0] == stopped_at
    code, _ = run_trainer(RESUMABLE, name="termed")
    assert code == 0
    assert read_summary(termed)["resumed_from_step"] == stopped_at
    assert_same_run(reference, termed)

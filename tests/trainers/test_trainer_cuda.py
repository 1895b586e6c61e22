"""CUDA paths: fused optimizers, the sync-free non-finite guard, AMP, host-pinned data.

Skipped without a GPU; run them on one with ``pytest tests/trainers/test_trainer_cuda.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from trainer_helpers import read_summary

from trainers import batches

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

DIGITS = {
    "model": {"kind": "mlp", "hidden": [128, 64]},
    "data": {"source": "digits"},
    "optimizer": {"name": "adamw", "lr": 0.003},
    "epochs": 8,
    "batch_size": 64,
    "device": "cuda",
}


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_digits_on_cuda(run_trainer, precision: str) -> None:
    code, run = run_trainer({**DIGITS, "precision": precision})
    assert code == 0
    summary = read_summary(run)
    assert summary["device"].startswith("cuda")
    assert summary["final"]["val_accuracy"] > 0.94


def test_host_resident_data_is_copied_per_batch(run_trainer, monkeypatch) -> None:
    monkeypatch.setattr(batches, "_DEVICE_RESIDENT_BYTES", 0)  # force the pinned-memory path
    code, run = run_trainer(DIGITS)
    assert code == 0
    assert read_summary(run)["final"]["val_accuracy"] > 0.94


def test_device_side_guard_skips_non_finite_steps(run_trainer, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    x[3, 1] = np.nan  # one poisoned row: one skipped step per epoch
    np.savez(tmp_path / "d.npz", x=x, y=y)
    data = {"source": "npz", "uri": str(tmp_path / "d.npz"), "standardize": False}
    cfg = {
        "data": {**data, "val_fraction": 0.0},
        "model": {"kind": "mlp", "hidden": [8]},
        "optimizer": {"name": "adam", "lr": 0.01},
        "epochs": 3,
        "batch_size": 32,
        "device": "cuda",
    }
    code, run = run_trainer({**cfg, "max_bad_steps": 10})
    assert code == 0
    assert read_summary(run)["bad_steps"] == 3
    weights = torch.load(run / "model" / "model_final.pt", weights_only=True)
    assert all(torch.isfinite(t).all() for t in weights.values())
    code, run = run_trainer({**cfg, "max_bad_steps": 1}, name="strict")
    assert code == 1
    assert read_summary(run)["stopped_reason"] == "non_finite"


@pytest.mark.slow
def test_torch_compile_on_cuda(run_trainer) -> None:
    code, run = run_trainer({**DIGITS, "compile": True, "epochs": 3})
    assert code == 0
    assert read_summary(run)["final"]["val_accuracy"] > 0.9

"""Early stopping, best-model tracking, max_steps, and the L1/L2 penalties."""

from __future__ import annotations

import json

import pytest
import torch
from trainer_helpers import read_metrics, read_summary, tiny


def test_early_stopping_after_patience_evaluations(run_trainer) -> None:
    # min_delta larger than any possible change: only the first evaluation "improves"
    cfg = tiny(epochs=10, early_stopping={"metric": "val_loss", "patience": 2, "min_delta": 10})
    code, run = run_trainer(cfg)
    assert code == 0
    summary = read_summary(run)
    assert summary["stopped_reason"] == "early_stopping"
    assert summary["epochs"] == 3
    assert [r["epoch"] for r in read_metrics(run) if r["kind"] == "epoch"] == [1, 2, 3]


def test_model_pt_holds_the_best_weights_by_the_monitored_metric(run_trainer) -> None:
    cfg = tiny(epochs=6, early_stopping={"metric": "val_accuracy", "patience": 6})
    code, run = run_trainer(cfg)
    assert code == 0
    summary = read_summary(run)
    epochs = [r for r in read_metrics(run) if r["kind"] == "epoch"]
    best = max(epochs, key=lambda r: (r["val_accuracy"], -r["step"]))  # first best wins ties
    assert summary["best"] == {
        "metric": "val_accuracy",
        "mode": "max",
        "value": best["val_accuracy"],
        "step": best["step"],
        "epoch": best["epoch"],
    }
    meta = json.loads((run / "model" / "model.json").read_text())
    assert meta["weights"] == "best" and meta["best"]["step"] == best["step"]
    model = torch.load(run / "model" / "model.pt", weights_only=True)
    saved_best = torch.load(run / "ckpt" / "best.pt", weights_only=True)
    assert all(torch.equal(model[k], saved_best[k]) for k in model)


def test_max_steps_stops_mid_epoch_and_still_evaluates(run_trainer) -> None:
    code, run = run_trainer(tiny(epochs=5, max_steps=7))
    assert code == 0
    summary = read_summary(run)
    assert (summary["stopped_reason"], summary["steps"]) == ("max_steps", 7)
    assert "val_accuracy" in summary["final"]
    assert read_metrics(run)[-1]["kind"] == "epoch" and read_metrics(run)[-1]["step"] == 7


def weight_l1(run, name: str = "model_final.pt") -> float:
    state = torch.load(run / "model" / name, weights_only=True)
    return sum(float(t.abs().sum()) for k, t in state.items() if k.endswith("weight"))


@pytest.mark.parametrize(
    ("optimizer", "penalty"),
    [({"name": "adam", "lr": 0.05}, {"l1": 2.0}), ({"name": "lbfgs"}, {"weight_decay": 5.0})],
    ids=["l1-adam", "l2-lbfgs"],
)
def test_penalties_shrink_the_weights(run_trainer, optimizer: dict, penalty: dict) -> None:
    base = {
        "model": {"kind": "linear"},
        "data": {
            "source": "synthetic_regression",
            "n_samples": 200,
            "n_features": 10,
            "val_fraction": 0.0,
        },
        "checkpoint": {"every_steps": 1000},  # keep 100 tiny epochs from writing 100 files
        "epochs": 100,
        "batch_size": 200,
        "num_threads": 1,
        "device": "cpu",
    }
    code_a, plain = run_trainer({**base, "optimizer": optimizer}, name="plain")
    code_b, shrunk = run_trainer({**base, "optimizer": {**optimizer, **penalty}}, name="shrunk")
    assert (code_a, code_b) == (0, 0)
    assert weight_l1(shrunk) < 0.5 * weight_l1(plain)

"""Gradient descent reaches known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from trainer_helpers import read_summary

from trainers.config import DataConfig
from trainers.data import load_dataset

REGRESSION = {"source": "synthetic_regression", "n_samples": 600, "n_features": 6, "noise": 0.5}


def least_squares_val_mse(seed: int) -> float:
    """The closed-form answer on the exact split and scaling the trainer uses."""
    ds = load_dataset(DataConfig(**REGRESSION), seed, "linear")
    assert ds.x_val is not None and ds.y_val is not None
    x = np.c_[ds.x_train.numpy().astype(np.float64), np.ones(ds.n_train)]
    w, *_ = np.linalg.lstsq(x, ds.y_train.numpy().astype(np.float64), rcond=None)
    xv = np.c_[ds.x_val.numpy().astype(np.float64), np.ones(ds.n_val)]
    return float(np.mean((xv @ w - ds.y_val.numpy()) ** 2))


@pytest.mark.parametrize(
    "training",
    [
        {"optimizer": {"name": "lbfgs", "lr": 1.0}, "batch_size": 10_000, "epochs": 5},
        {
            "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
            "schedule": {"name": "cosine"},
            "batch_size": 32,
            "epochs": 30,
        },
        {"optimizer": {"name": "adam", "lr": 0.05}, "batch_size": 480, "epochs": 300},
    ],
    ids=["lbfgs-full-batch", "sgd-mini-batch", "adam-batch-gd"],
)
def test_linear_regression_matches_least_squares(run_trainer, training: dict) -> None:
    cfg = {
        "model": {"kind": "linear"},
        "data": REGRESSION,
        "log_every_steps": 1000,
        "num_threads": 1,
        **training,
    }
    code, run = run_trainer(cfg)
    assert code == 0
    ours = read_summary(run)["final"]["val_mse"]
    best = least_squares_val_mse(seed=0)
    assert ours == pytest.approx(best, rel=0.01)
    assert read_summary(run)["final"]["val_r2"] > 0.9


def test_binary_logistic_regression_matches_scikit_learn(run_trainer) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    data = {"source": "synthetic_classification", "n_samples": 400, "n_features": 4}
    cfg = {
        "model": {"kind": "logistic"},
        "data": data,
        "optimizer": {"name": "lbfgs", "lr": 1.0},
        "batch_size": 10_000,
        "epochs": 3,
        "num_threads": 1,
    }
    code, run = run_trainer(cfg)
    assert code == 0
    ds = load_dataset(DataConfig(**data), 0, "logistic")
    assert ds.x_val is not None and ds.y_val is not None
    reference = LogisticRegression(C=1e6, max_iter=10_000).fit(ds.x_train, ds.y_train)
    best = log_loss(ds.y_val.numpy(), reference.predict_proba(ds.x_val.numpy()))
    final = read_summary(run)["final"]
    assert final["val_loss"] == pytest.approx(best, rel=0.01)
    assert final["val_accuracy"] == pytest.approx(reference.score(ds.x_val, ds.y_val), abs=0.01)
    meta = json.loads((run / "model" / "model.json").read_text())
    assert meta["output_shape"] == [1] and meta["classes"] == ["0", "1"]

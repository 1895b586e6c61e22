"""What one optimizer step does: accumulation, clipping, the non-finite guard, AMP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from trainer_helpers import make_trainer, read_metrics, read_summary, tiny


def weights(run: Path, name: str = "model_final.pt") -> dict[str, torch.Tensor]:
    return torch.load(run / "model" / name, weights_only=True)


def test_accumulating_two_half_batches_equals_one_full_batch(run_trainer) -> None:
    sgd = {"name": "sgd", "lr": 0.1, "momentum": 0.9}
    code_a, full = run_trainer(tiny(optimizer=sgd, batch_size=64), name="full")
    code_b, accum = run_trainer(
        tiny(optimizer=sgd, batch_size=32, grad_accum_steps=2), name="accum"
    )
    assert (code_a, code_b) == (0, 0)
    assert read_summary(full)["steps"] == read_summary(accum)["steps"] == 6
    a, b = weights(full), weights(accum)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_clip_grad_norm_bounds_the_update(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, optimizer={"name": "sgd", "lr": 1.0}, clip_grad_norm=0.01)
    params = trainer.params
    before = [p.detach().clone() for p in params]
    batch = trainer.s.train.batch(torch.arange(32))
    _, gnorm = trainer.train_step([batch], log_now=True)
    update = torch.sqrt(
        sum(((p.detach() - b) ** 2).sum() for p, b in zip(params, before, strict=True))
    )
    assert gnorm is not None and gnorm > 0.01  # the raw gradient was larger: clipping engaged
    assert float(update) == pytest.approx(0.01, rel=1e-4)


def test_clip_grad_value_bounds_each_element(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, optimizer={"name": "sgd", "lr": 1.0}, clip_grad_value=1e-3)
    before = [p.detach().clone() for p in trainer.params]
    trainer.train_step([trainer.s.train.batch(torch.arange(32))], log_now=False)
    pairs = zip(trainer.params, before, strict=True)
    biggest = max(float((p.detach() - b).abs().max()) for p, b in pairs)
    assert biggest == pytest.approx(1e-3, rel=1e-5)


def write_npz_with_nan_rows(path: Path, nan_rows: list[int]) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    x[nan_rows, 1] = np.nan
    np.savez(path, x=x, y=y)


def test_non_finite_steps_are_skipped_up_to_the_limit(run_trainer, tmp_path: Path) -> None:
    data = tmp_path / "d.npz"
    write_npz_with_nan_rows(data, [3])  # one poisoned row: one bad step per epoch
    cfg = tiny(
        data={"source": "npz", "uri": str(data), "standardize": False, "val_fraction": 0.0},
        max_bad_steps=10,
        epochs=3,
    )
    code, run = run_trainer(cfg)
    assert code == 0
    summary = read_summary(run)
    assert summary["bad_steps"] == 3
    assert all(torch.isfinite(t).all() for t in weights(run).values())


def test_too_many_non_finite_steps_stop_with_a_clear_error(run_trainer, tmp_path, capsys) -> None:
    data = tmp_path / "d.npz"
    write_npz_with_nan_rows(data, list(range(0, 200, 10)))  # every batch is poisoned
    cfg = tiny(
        data={"source": "npz", "uri": str(data), "standardize": False, "val_fraction": 0.0},
        max_bad_steps=2,
        checkpoint={"every_steps": 1},
    )
    code, run = run_trainer(cfg)
    assert code == 1
    assert "non-finite" in capsys.readouterr().err
    assert read_summary(run)["stopped_reason"] == "non_finite"
    # skipped steps never wrote a checkpoint of poisoned weights
    for path in (run / "ckpt").glob("ckpt-*.pt"):
        state = torch.load(path, weights_only=False)
        assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_bf16_autocast_on_cpu_trains(run_trainer) -> None:
    code, run = run_trainer(tiny(precision="bf16", epochs=3, optimizer={"lr": 0.03}))
    assert code == 0
    assert read_summary(run)["final"]["val_accuracy"] > 0.7


def test_fp16_without_cuda_is_a_config_error(run_trainer) -> None:
    assert run_trainer(tiny(precision="fp16"))[0] == 2


def test_exploding_gradients_are_reported(run_trainer, capsys) -> None:
    # targets in the tens of thousands make MSE gradients huge on the first steps
    cfg = tiny(
        model={"kind": "linear"},
        data={"source": "synthetic_regression", "n_samples": 100, "noise": 5e4},
        optimizer={"name": "sgd", "lr": 1e-9},
        log_every_steps=1,
    )
    code, run = run_trainer(cfg)
    assert code == 0
    assert "warning: exploding gradients" in capsys.readouterr().out
    assert read_summary(run)["grad_warnings"] > 0
    assert all(r["grad_norm"] > 1e3 for r in read_metrics(run) if r["kind"] == "step")

"""Optimizers, lr scaling and every schedule's shape."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from trainer_helpers import read_metrics, read_summary, tiny

from trainers.config import OptimizerConfig, ScheduleConfig
from trainers.optim import LRSchedule, build_optimizer, lr_values, param_groups, scaled_lr


def schedule(name: str, **kw: object) -> LRSchedule:
    # 10 steps per epoch, 100 steps in all, base lr 1.0
    return LRSchedule(ScheduleConfig(name=name, **kw), 1.0, total_steps=100, steps_per_epoch=10)


def test_constant_and_warmup() -> None:
    assert lr_values(schedule("constant"), [0, 50, 99]) == [1.0, 1.0, 1.0]
    assert schedule("constant").is_constant
    warm = schedule("constant", warmup_steps=4)
    assert lr_values(warm, [0, 1, 3, 4, 50]) == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_step_multistep_exponential_follow_epochs() -> None:
    step = schedule("step", step_size=3, gamma=0.5)
    assert lr_values(step, [0, 29, 30, 60]) == [1.0, 1.0, 0.5, 0.25]
    multi = schedule("multistep", milestones=[2, 5], gamma=0.1)
    assert lr_values(multi, [19, 20, 49, 50]) == pytest.approx([1.0, 0.1, 0.1, 0.01])
    exp = schedule("exponential", gamma=0.9)
    assert lr_values(exp, [0, 10, 25]) == pytest.approx([1.0, 0.9, 0.81])


def test_cosine_linear_and_warmup_cosine_reach_min_lr() -> None:
    cos = schedule("cosine", min_lr=0.1)
    assert cos.lr_at(0) == 1.0
    assert cos.lr_at(50) == pytest.approx(0.55)
    assert cos.lr_at(100) == pytest.approx(0.1)
    lin = schedule("linear")
    assert lr_values(lin, [0, 25, 100]) == pytest.approx([1.0, 0.75, 0.0])
    wc = schedule("warmup_cosine", warmup_steps=10)
    assert wc.lr_at(4) == pytest.approx(0.5)  # warmup ramps to the cosine's start
    assert wc.lr_at(10) == pytest.approx(1.0)
    assert wc.lr_at(55) == pytest.approx(0.5)


def test_onecycle_matches_torch() -> None:
    ours = LRSchedule(ScheduleConfig(name="onecycle", max_lr=0.5), 0.5, 100, 10)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    ref = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.5, total_steps=100, cycle_momentum=False, anneal_strategy="cos"
    )
    theirs = []
    for _ in range(100):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    assert lr_values(ours, range(100)) == pytest.approx(theirs, rel=1e-6)


def test_plateau_reduces_after_patience_and_survives_a_checkpoint() -> None:
    plateau = schedule("plateau", patience=1, factor=0.5, min_lr=0.2)
    for value in [1.0, 0.9, 0.95, 0.95]:
        plateau.observe(value)
    assert plateau.lr_at(0) == 0.5
    restored = schedule("plateau", patience=1, factor=0.5, min_lr=0.2)
    restored.load_state_dict(plateau.state_dict())
    for value in [0.95, 0.95, 0.95, 0.95]:
        restored.observe(value)
    assert restored.lr_at(0) == 0.2  # 0.125 floored at min_lr


def test_lr_scaling_with_global_batch() -> None:
    base = {"lr": 0.1, "base_batch_size": 64}
    assert scaled_lr(OptimizerConfig(**base), 256) == 0.1
    assert scaled_lr(OptimizerConfig(**base, lr_scaling="linear"), 256) == pytest.approx(0.4)
    assert scaled_lr(OptimizerConfig(**base, lr_scaling="sqrt"), 256) == pytest.approx(0.2)


def test_weight_decay_spares_biases() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    decay, no_decay = param_groups(model, 0.01)
    assert [p.ndim for p in decay["params"]] == [2, 2]
    assert no_decay["weight_decay"] == 0.0 and len(no_decay["params"]) == 4


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs"])
def test_every_optimizer_is_built_with_its_options(name: str) -> None:
    cfg = OptimizerConfig(name=name, lr=0.01, momentum=0.9 if name == "sgd" else 0.0)
    opt = build_optimizer(cfg, nn.Linear(3, 1), cfg.lr)
    assert type(opt).__name__.lower() == name
    assert opt.param_groups[0]["lr"] == 0.01


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
        {"name": "adam", "lr": 0.03},
        {"name": "adamw", "lr": 0.03, "weight_decay": 0.01},
        {"name": "rmsprop", "lr": 0.01},
        {"name": "adagrad", "lr": 0.3},
        {"name": "lbfgs", "lr": 1.0},
    ],
    ids=lambda o: o["name"],
)
def test_every_optimizer_trains_a_classifier(run_trainer, optimizer: dict) -> None:
    # L-BFGS is a full-batch method: one batch holds the whole training split.
    batch = 1000 if optimizer["name"] == "lbfgs" else 32
    code, run = run_trainer(tiny(optimizer=optimizer, epochs=4, batch_size=batch))
    assert code == 0
    epochs = [r for r in read_metrics(run) if r["kind"] == "epoch"]
    assert epochs[-1]["loss"] < 0.6 * epochs[0]["loss"]
    assert read_summary(run)["final"]["val_accuracy"] >= 0.75


@pytest.mark.parametrize(
    "sched",
    [
        {"name": "step", "step_size": 1, "gamma": 0.5},
        {"name": "multistep", "milestones": [1]},
        {"name": "exponential", "gamma": 0.5},
        {"name": "cosine"},
        {"name": "warmup_cosine", "warmup_steps": 3},
        {"name": "linear"},
        {"name": "onecycle"},
        {"name": "plateau", "patience": 0},
    ],
    ids=lambda s: s["name"],
)
def test_every_schedule_runs_and_logs_its_lr(run_trainer, sched: dict) -> None:
    code, run = run_trainer(tiny(schedule=sched, epochs=3))
    assert code == 0
    summary = read_summary(run)
    assert summary["stopped_reason"] == "completed"
    if sched["name"] != "plateau":
        assert summary["final_lr"] < summary["base_lr"]
    assert math.isfinite(summary["final"]["loss"])

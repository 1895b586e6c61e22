"""Optimizers, learning-rate scaling and schedules.

Schedules are one small controller instead of torch's scheduler classes so that
warmup composes with every shape (plateau included) and the whole state is three
numbers: the lr of a step is a pure function of (step, epoch, plateau scale).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from trainers.config import OptimizerConfig, ScheduleConfig

_ONECYCLE_PCT = 0.3  # torch.optim.lr_scheduler.OneCycleLR defaults
_ONECYCLE_DIV = 25.0
_ONECYCLE_FINAL_DIV = 1e4


def scaled_lr(cfg: OptimizerConfig, global_batch: int) -> float:
    """The base lr after linear/sqrt scaling with the global batch."""
    ratio = global_batch / cfg.base_batch_size
    if cfg.lr_scaling == "linear":
        return cfg.lr * ratio
    if cfg.lr_scaling == "sqrt":
        return cfg.lr * math.sqrt(ratio)
    return cfg.lr


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay weights (matrices, kernels) but not biases or norm scales."""
    if weight_decay == 0:  # one group: the optimizer's per-group overhead is paid once
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim > 1 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


FUSED_OPTIMIZERS = ("sgd", "adam", "adamw")


def build_optimizer(
    cfg: OptimizerConfig, model: nn.Module, lr: float, fused: bool = False
) -> torch.optim.Optimizer:
    """The configured optimizer over ``model``'s parameters at base lr ``lr``.

    ``fused`` (CUDA) selects the single-kernel implementations, which also skip a step
    on the device when told a gradient is non-finite (no host sync needed).
    """
    groups = param_groups(model, cfg.weight_decay)
    fused_kw = {"fused": True} if fused and cfg.name in FUSED_OPTIMIZERS else {}
    if cfg.name == "sgd":
        return torch.optim.SGD(
            groups, lr=lr, momentum=cfg.momentum, nesterov=cfg.nesterov, **fused_kw
        )
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=cfg.betas, eps=cfg.eps, **fused_kw)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=cfg.betas, eps=cfg.eps, **fused_kw)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, momentum=cfg.momentum, eps=cfg.eps)
    if cfg.name == "adagrad":
        return torch.optim.Adagrad(groups, lr=lr, eps=cfg.eps)
    # L-BFGS has no per-group options and needs every parameter in one group; the
    # L2 penalty is added to its loss instead (see l2_penalty).
    params = [p for g in groups for p in g["params"]]
    return torch.optim.LBFGS(
        params, lr=lr, history_size=cfg.lbfgs_history, line_search_fn="strong_wolfe"
    )


def l1_penalty(model: nn.Module, l1: float) -> torch.Tensor | None:
    """``l1 * sum |w|`` over weights (not biases), or None when off."""
    if l1 <= 0:
        return None
    terms = [p.abs().sum() for p in model.parameters() if p.requires_grad and p.ndim > 1]
    return l1 * torch.stack(terms).sum() if terms else None


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor | None:
    """``wd/2 * sum w^2`` over weights; used only for L-BFGS (no weight_decay option)."""
    if weight_decay <= 0:
        return None
    terms = [p.pow(2).sum() for p in model.parameters() if p.requires_grad and p.ndim > 1]
    return 0.5 * weight_decay * torch.stack(terms).sum() if terms else None


@dataclass
class PlateauState:
    """reduce-on-plateau bookkeeping, saved in checkpoints."""

    scale: float = 1.0
    best: float = math.inf
    bad_evals: int = 0


class LRSchedule:
    """Computes and applies the lr of each optimizer step."""

    def __init__(
        self,
        cfg: ScheduleConfig,
        base_lr: float,
        total_steps: int,
        steps_per_epoch: int,
    ) -> None:
        self.cfg = cfg
        self.base_lr = base_lr
        self.total_steps = max(1, total_steps)
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.plateau = PlateauState()

    @property
    def is_constant(self) -> bool:
        """True when the lr never changes (the loop then skips setting it)."""
        return self.cfg.name == "constant" and self.cfg.warmup_steps == 0

    def _shape(self, step: int) -> float:
        cfg, base = self.cfg, self.base_lr
        epoch = step // self.steps_per_epoch
        warm = cfg.warmup_steps
        span = max(1, self.total_steps - warm)
        progress = min(1.0, max(0.0, (step - warm) / span))
        if cfg.name in ("constant", "plateau"):
            return base
        if cfg.name == "step":
            return base * cfg.gamma ** (epoch // cfg.step_size)
        if cfg.name == "multistep":
            return base * cfg.gamma ** sum(1 for m in cfg.milestones if epoch >= m)
        if cfg.name == "exponential":
            return base * cfg.gamma**epoch
        if cfg.name in ("cosine", "warmup_cosine"):
            return cfg.min_lr + (base - cfg.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
        if cfg.name == "linear":
            return cfg.min_lr + (base - cfg.min_lr) * (1 - progress)
        return self._onecycle(step)

    def _onecycle(self, step: int) -> float:
        peak = self.cfg.max_lr or self.base_lr
        start = peak / _ONECYCLE_DIV
        end = start / _ONECYCLE_FINAL_DIV
        # Phase boundaries as torch.optim.lr_scheduler.OneCycleLR computes them.
        up_end = max(1.0, _ONECYCLE_PCT * self.total_steps - 1)
        if step <= up_end:
            pct, lo, hi = step / up_end, start, peak
        else:
            pct, lo, hi = (step - up_end) / max(1.0, self.total_steps - 1 - up_end), peak, end
        pct = min(1.0, pct)
        return hi + (lo - hi) * 0.5 * (1 + math.cos(math.pi * pct))

    def lr_at(self, step: int) -> float:
        """The lr for optimizer step ``step`` (0-based)."""
        lr = self._shape(step)
        if self.cfg.warmup_steps and step < self.cfg.warmup_steps and self.cfg.name != "onecycle":
            lr *= (step + 1) / self.cfg.warmup_steps
        if self.cfg.name == "plateau":
            lr = max(self.cfg.min_lr, lr * self.plateau.scale)
        return lr

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        """Set every param group's lr for ``step``; returns it."""
        lr = self.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def observe(self, value: float) -> None:
        """Feed a validation loss (lower is better) to reduce-on-plateau."""
        if self.cfg.name != "plateau" or not math.isfinite(value):
            return
        state = self.plateau
        if value < state.best:
            state.best, state.bad_evals = value, 0
            return
        state.bad_evals += 1
        if state.bad_evals > self.cfg.patience:
            state.scale *= self.cfg.factor
            state.bad_evals = 0

    def state_dict(self) -> dict[str, float]:
        p = self.plateau
        return {"scale": p.scale, "best": p.best, "bad_evals": float(p.bad_evals)}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.plateau = PlateauState(
            scale=float(state["scale"]),
            best=float(state["best"]),
            bad_evals=int(state["bad_evals"]),
        )


def lr_values(schedule: LRSchedule, steps: Iterable[int]) -> list[float]:
    """The lr at each of ``steps`` (tests and plots)."""
    return [schedule.lr_at(s) for s in steps]

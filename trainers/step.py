"""One optimizer step: forward/backward over the micro-batches, clipping, the update.

Kept lean because it runs every step. The non-finite guard needs to know whether
the loss and gradients are finite before updating:
- a fused optimizer (sgd, adam, adamw on CUDA): no host sync at all. The finiteness
  flag is handed to the fused kernel as ``found_inf`` (the mechanism GradScaler uses),
  which skips the update on the device; bad steps are counted on the device and read
  by the loop only when it logs or checkpoints. fp16's GradScaler takes the same path.
- other optimizers (rmsprop, adagrad, lbfgs, and any optimizer on CPU): one scalar
  read per step, which on a CPU is no real sync; PyTorch has no kernel of theirs that
  can skip a step on the device.
Under DDP the verdict comes from the all-reduced gradients, the same on every rank,
so all ranks skip the same steps. The grad norm is computed only when clipping or a
log line needs it.
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict

import torch

from trainers.config import TrainConfig
from trainers.distributed import all_reduce_sum
from trainers.optim import l1_penalty, l2_penalty
from trainers.setup import Setup

Batch = tuple[torch.Tensor, torch.Tensor]


class Stepper:
    """Runs optimizer steps for one Setup."""

    def __init__(self, cfg: TrainConfig, s: Setup) -> None:
        self.s = s
        self.model = s.model
        self.optimizer = s.optimizer
        self.scaler = s.scaler
        self.loss_fn = s.loss_fn
        self.params = [p for p in s.model.parameters() if p.requires_grad]
        self.l1 = cfg.optimizer.l1
        self.l2_in_loss = cfg.optimizer.weight_decay if cfg.optimizer.name == "lbfgs" else 0.0
        self.amp = cfg.precision != "fp32"
        self.clip_norm = cfg.clip_grad_norm
        self.clip_value = cfg.clip_grad_value
        self.lbfgs = cfg.optimizer.name == "lbfgs"
        self.xla = s.device.type == "xla"
        fused = bool(self.optimizer.defaults.get("fused"))
        self.device_guard = fused
        self.bad_on_device = torch.zeros((), device=s.device)
        self._one = torch.ones((), device=s.device)

    def _loss(
        self, x: torch.Tensor, y: torch.Tensor, weight: float | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(data loss, loss to differentiate: data loss + penalties); a DDP shard's loss is
        scaled by ``weight`` (see data_shard.py), an empty share still runs backward so the
        ranks' gradient all-reduce stays in step."""
        if self.amp:
            with self.s.autocast():
                out = self.model(x)
        else:
            out = self.model(x)
        if weight is None:
            loss = self.loss_fn(out, y)
        elif x.shape[0] == 0:
            loss = out.sum() * 0.0
        else:
            loss = self.loss_fn(out, y) * weight
        total = loss
        if self.l1:
            penalty = l1_penalty(self.model, self.l1)
            if penalty is not None:
                total = total + penalty
        return loss, total

    def _backward(self, total: torch.Tensor) -> None:
        if self.scaler is not None:
            self.scaler.scale(total).backward()
        else:
            total.backward()

    def _accumulate(self, group: list[Batch], weights: list[float] | None) -> torch.Tensor:
        if len(group) == 1:
            loss, total = self._loss(*group[0], weights[0] if weights else None)
            self._backward(total)
            return loss.detach()
        k = len(group)
        losses = []
        for i, batch in enumerate(group):
            # DDP: all-reduce gradients only on the last micro-batch of the step.
            last = i == k - 1
            no_sync = self.s.ddp and not last
            sync = self.model.no_sync() if no_sync else contextlib.nullcontext()  # type: ignore[operator]
            with sync:
                loss, total = self._loss(*batch, weights[i] if weights else None)
                self._backward(total / k)
            losses.append(loss.detach())
        return torch.stack(losses).mean()

    def _lbfgs(self, batch: Batch, weight: float | None) -> torch.Tensor:
        x, y = batch
        opt = self.optimizer
        world = self.s.ctx.world_size if self.s.ddp else 1

        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            _, total = self._loss(x, y, weight)
            l2 = l2_penalty(self.model, self.l2_in_loss)
            if l2 is not None:
                total = total + l2
            total.backward()
            if world == 1:
                return total
            # The line search must see the same loss on every rank, the one whose gradient
            # DDP's average gives: the mean of the ranks' losses (the whole batch's mean loss
            # on a shard, by its weights; the penalties are the same on every rank).
            value = all_reduce_sum(total.detach().clone())
            return value / world

        loss = opt.step(closure)  # type: ignore[arg-type]
        assert isinstance(loss, torch.Tensor)
        return loss.detach()

    def _clip(self, need_norm: bool) -> torch.Tensor | None:
        if self.scaler is not None and (need_norm or self.clip_value):
            self.scaler.unscale_(self.optimizer)
        if self.clip_value:
            torch.nn.utils.clip_grad_value_(self.params, self.clip_value)
        if not need_norm:
            return None
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads)
        if self.clip_norm:
            torch.nn.utils.clip_grads_with_norm_(self.params, self.clip_norm, norm)
        return norm

    def _grads_non_finite(self) -> torch.Tensor:
        """1.0 on the device if any gradient holds an inf or NaN (one fused pass per dtype)."""
        found = torch.zeros((), device=self.s.device)
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = defaultdict(list)
        for p in self.params:
            if p.grad is not None:
                by_dtype[p.grad.dtype].append(p.grad)
        for grads in by_dtype.values():  # scaling by 1.0 leaves the gradients as they are
            torch._amp_foreach_non_finite_check_and_unscale_(grads, found, self._one)
        return found

    def step(
        self, group: list[Batch], need_norm: bool, weights: list[float] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, bool | None]:
        """One update from ``group`` (``weights``: each micro-batch's loss weight on a DDP
        shard): (mean data loss, grad norm or None, finite?).

        A non-finite step leaves the weights unchanged (fp16: GradScaler skips it and
        lowers its scale, so only a non-finite *loss* counts as bad there). "finite?"
        is None under the device guard: the count is in ``bad_on_device``.
        """
        self.optimizer.zero_grad(set_to_none=True)
        if self.lbfgs:
            loss = self._lbfgs(group[0], weights[0] if weights else None)
            return loss, None, math.isfinite(loss.item())
        loss = self._accumulate(group, weights)
        need_norm = need_norm or bool(self.clip_norm)
        norm = self._clip(need_norm)
        if self.device_guard:
            bad = torch.isfinite(loss).logical_not().float()
            if self.scaler is not None:
                self.scaler.step(self.optimizer)  # fused: found_inf goes to the kernel
                self.scaler.update()
            else:
                if not self.s.ddp:  # a rank's own loss would split the ranks' verdicts
                    bad = torch.maximum(bad, self._grads_non_finite())
                else:
                    bad = self._grads_non_finite()
                self.optimizer.found_inf = bad  # type: ignore[attr-defined]
                self.optimizer.step()
            self.bad_on_device += bad
            return loss, norm, None
        if self.s.ddp:
            ok = not bool(self._grads_non_finite().item())
        else:
            ok = math.isfinite(loss.item())  # the one host sync of a step (free on CPU)
            if ok and norm is not None and self.scaler is None:
                ok = math.isfinite(norm.item())
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        elif ok:
            self.optimizer.step()
        if self.xla:  # pragma: no cover - needs torch_xla
            import torch_xla.core.xla_model as xm

            xm.mark_step()
        return loss, norm, ok

"""The gradient-descent loop: steps, accumulation, clipping, guards, evaluation, resume.

Host syncs per optimizer step: one (the non-finite guard reads a scalar), plus the
stop-flag all-reduce under DDP. Losses are accumulated on the device and read only
when a line is logged; the grad norm is computed only when clipping, under DDP (its
finiteness is identical on every rank, so all ranks skip together) or when logging.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from trainers import checkpoint as ckpt
from trainers.batches import epoch_order
from trainers.config import TrainConfig
from trainers.distributed import all_reduce_sum, unwrap
from trainers.errors import NonFiniteError, Preempted
from trainers.metrics import MetricsLogger
from trainers.objective import evaluate
from trainers.optim import l1_penalty, l2_penalty
from trainers.setup import Setup
from trainers.signals import StopFlag
from trainers.state import Progress, improved, metric_mode

GRAD_NORM_HIGH = 1e3  # warn: exploding gradients
GRAD_NORM_LOW = 1e-7  # warn: vanishing gradients
_MAX_GRAD_WARNINGS = 5


class Trainer:
    """Runs one configured job to its end (or to a checkpointed stop)."""

    def __init__(self, cfg: TrainConfig, s: Setup, logger: MetricsLogger, stop: StopFlag) -> None:
        self.cfg, self.s, self.logger, self.stop = cfg, s, logger, stop
        self.progress = Progress()
        self.params = [p for p in s.model.parameters() if p.requires_grad]
        self.lbfgs = cfg.optimizer.name == "lbfgs"
        self.monitor = cfg.early_stopping.metric if cfg.early_stopping else "val_loss"
        self.monitor_mode = metric_mode(
            self.monitor, cfg.early_stopping.mode if cfg.early_stopping else "auto"
        )
        dev = s.device
        self._log_acc = torch.zeros((), device=dev)
        self._epoch_acc = torch.zeros((), device=dev)
        self._log_n = 0
        self._epoch_n = 0
        self._log_t = time.perf_counter()
        self._paused_log = 0.0  # eval/checkpoint seconds since the last log line
        self._paused_total = 0.0
        self._log_samples = 0
        self.train_time = 0.0
        self.samples_seen = 0
        self.resumed_from: int | None = None

    # ---- checkpoints -------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        s = self.s
        return {
            "format": 1,
            "model": unwrap(s.model).state_dict(),
            "optimizer": s.optimizer.state_dict(),
            "schedule": s.schedule.state_dict(),
            "scaler": s.scaler.state_dict() if s.scaler is not None else None,
            "rng": ckpt.capture_rng(),
            "progress": asdict(self.progress),
            "accumulators": {
                "log": self._log_acc.detach().cpu(),
                "log_n": self._log_n,
                "epoch": self._epoch_acc.detach().cpu(),
                "epoch_n": self._epoch_n,
            },
            "config": self.cfg.model_dump(mode="json"),
            "world_size": s.ctx.world_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        s = self.s
        unwrap(s.model).load_state_dict(state["model"])
        s.optimizer.load_state_dict(state["optimizer"])
        s.schedule.load_state_dict(state["schedule"])
        if s.scaler is not None and state.get("scaler"):
            s.scaler.load_state_dict(state["scaler"])
        ckpt.restore_rng(state["rng"])
        self.progress = Progress(**state["progress"])
        acc = state["accumulators"]
        self._log_acc = acc["log"].to(s.device)
        self._log_n = int(acc["log_n"])
        self._epoch_acc = acc["epoch"].to(s.device)
        self._epoch_n = int(acc["epoch_n"])
        self.resumed_from = self.progress.step

    def save(self) -> None:
        """Checkpoint now (rank 0 writes; the others only keep in step)."""
        with self._paused():
            self._save()

    @contextlib.contextmanager
    def _paused(self) -> Iterator[None]:
        """Time not spent training: kept out of samples/s and train time."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - t0
            self._paused_log += spent
            self._paused_total += spent

    def _save(self) -> None:
        if self.s.ctx.is_main:
            ckpt.save_checkpoint(
                self.s.ctx.checkpoint_dir,
                self.progress.step,
                self.state_dict(),
                self.cfg.checkpoint.keep_last,
            )

    # ---- one optimizer step ------------------------------------------------------
    def _forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with self.s.autocast():
            out = self.s.model(x)
        loss = self.s.loss_fn(out, y)
        total = loss
        penalty = l1_penalty(self.s.model, self.cfg.optimizer.l1)
        if penalty is not None:
            total = total + penalty
        return loss, total

    def _lbfgs_step(self, index: torch.Tensor) -> torch.Tensor:
        x, y = self.s.train.batch(index)
        opt = self.s.optimizer

        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            _, total = self._forward_loss(x, y)
            l2 = l2_penalty(self.s.model, self.cfg.optimizer.weight_decay)
            if l2 is not None:
                total = total + l2
            total.backward()
            return total

        loss = opt.step(closure)  # type: ignore[arg-type]
        assert isinstance(loss, torch.Tensor)
        return loss.detach()

    def _accumulate(self, group: list[torch.Tensor]) -> torch.Tensor:
        model, scaler = self.s.model, self.s.scaler
        k = len(group)
        step_loss = torch.zeros((), device=self.s.device)
        for i, index in enumerate(group):
            x, y = self.s.train.batch(index)
            last = i == k - 1
            sync = contextlib.nullcontext() if last or not self.s.ddp else model.no_sync()  # type: ignore[operator]
            with sync:
                loss, total = self._forward_loss(x, y)
                if k > 1:
                    total = total / k
                (scaler.scale(total) if scaler is not None else total).backward()
            step_loss += loss.detach()
        return step_loss / k if k > 1 else step_loss

    def _grads(self, need_norm: bool) -> torch.Tensor | None:
        cfg, scaler = self.cfg, self.s.scaler
        if scaler is not None and (need_norm or cfg.clip_grad_value):
            scaler.unscale_(self.s.optimizer)
        if cfg.clip_grad_value:
            torch.nn.utils.clip_grad_value_(self.params, cfg.clip_grad_value)
        if not need_norm:
            return None
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads)
        if cfg.clip_grad_norm:
            torch.nn.utils.clip_grads_with_norm_(self.params, cfg.clip_grad_norm, norm)
        return norm

    def train_step(
        self, group: list[torch.Tensor], log_now: bool
    ) -> tuple[torch.Tensor, float | None]:
        """One optimizer step over ``group`` micro-batches; returns (loss, grad norm if read)."""
        s, p = self.s, self.progress
        if not s.schedule.is_constant:
            s.schedule.apply(s.optimizer, p.step)
        s.optimizer.zero_grad(set_to_none=True)
        if self.lbfgs:
            loss = self._lbfgs_step(group[0])
            ok = bool(torch.isfinite(loss))
            gnorm = None
        else:
            loss = self._accumulate(group)
            need_norm = bool(self.cfg.clip_grad_norm) or s.ddp or log_now
            gnorm = self._grads(need_norm)
            use_norm = gnorm is not None and s.scaler is None
            probe = loss + gnorm if use_norm else loss  # type: ignore[operator]
            ok = bool(torch.isfinite(probe))  # the one host sync of the step
            if s.scaler is not None:
                s.scaler.step(s.optimizer)  # skips the update itself on inf/nan grads
                s.scaler.update()
            elif ok:
                s.optimizer.step()
        if s.device.type == "xla":  # pragma: no cover - needs torch_xla
            import torch_xla.core.xla_model as xm

            xm.mark_step()
        if not ok:
            p.bad_steps += 1
            print(
                f"warning: non-finite loss or gradient at step {p.step + 1}; step skipped "
                f"({p.bad_steps}/{self.cfg.max_bad_steps})",
                flush=True,
            )
            if p.bad_steps > self.cfg.max_bad_steps:
                raise NonFiniteError(
                    f"{p.bad_steps} steps had a non-finite loss or gradient "
                    f"(max_bad_steps={self.cfg.max_bad_steps}); the last good checkpoint is kept",
                    hint="lower optimizer.lr, set clip_grad_norm, or check the data for NaNs",
                )
        return loss, (float(gnorm) if gnorm is not None and log_now else None)

    # ---- logging -------------------------------------------------------------------
    def _log_step(self, gnorm: float | None) -> None:
        p, s = self.progress, self.s
        now = time.perf_counter()
        loss = float(self._log_acc) / max(1, self._log_n)
        elapsed = max(now - self._log_t - self._paused_log, 1e-9)
        record: dict[str, Any] = {
            "kind": "step",
            "step": p.step,
            "epoch": p.epoch + 1,
            "loss": loss,
            "lr": s.optimizer.param_groups[0]["lr"],
            "grad_norm": gnorm,
            "samples_per_sec": self._log_samples / elapsed,
        }
        self.logger.log(record)
        if gnorm is not None and (gnorm > GRAD_NORM_HIGH or 0 < gnorm < GRAD_NORM_LOW):
            p.warnings += 1
            if p.warnings <= _MAX_GRAD_WARNINGS and s.ctx.is_main:
                kind = "exploding" if gnorm > GRAD_NORM_HIGH else "vanishing"
                print(
                    f"warning: {kind} gradients: grad_norm={gnorm:.3g} at step {p.step}", flush=True
                )
        self._log_acc.zero_()
        self._log_n = 0
        self._log_t = now
        self._paused_log = 0.0
        self._log_samples = 0

    def _end_epoch(self, partial: bool) -> None:
        p, s, cfg = self.progress, self.s, self.cfg
        if not partial:
            p.epoch += 1
            p.micro = 0
        totals = all_reduce_sum(
            torch.stack(
                [self._epoch_acc.float(), torch.tensor(float(self._epoch_n), device=s.device)]
            )
        )
        p.last_train_loss = float(totals[0] / totals[1].clamp(min=1))
        self._epoch_acc.zero_()
        self._epoch_n = 0
        record: dict[str, Any] = {
            "kind": "epoch",
            "step": p.step,
            "epoch": p.epoch + (1 if partial else 0),
        }
        record["loss"] = p.last_train_loss
        last = partial or p.epoch >= cfg.epochs
        if s.val is not None and (p.epoch % cfg.eval_every_epochs == 0 or last):
            p.last_val = self.run_eval()
            p.last_eval_step = p.step
            record.update(p.last_val)
        record["lr"] = s.optimizer.param_groups[0]["lr"]
        self.logger.log(record)
        watch = (
            p.last_val.get("val_loss", p.last_train_loss) if p.last_eval_step == p.step else None
        )
        if watch is not None:
            s.schedule.observe(watch)
        self._track_best(record)

    def run_eval(self) -> dict[str, float]:
        s = self.s
        assert s.val is not None
        return evaluate(
            unwrap(s.model),
            s.val,
            s.task,
            s.num_outputs,
            max(256, self.cfg.batch_size * 4),
            s.ctx.rank,
            s.ctx.world_size,
            s.autocast,
        )

    def _track_best(self, record: dict[str, Any]) -> None:
        p, cfg = self.progress, self.cfg
        value = record.get(self.monitor)
        if value is None:
            return
        if improved(value, p.best_value, self.monitor_mode):
            p.best_value, p.best_step, p.best_epoch = float(value), p.step, p.epoch
            if self.s.ctx.is_main:
                ckpt.atomic_save(
                    unwrap(self.s.model).state_dict(), self.s.ctx.checkpoint_dir / ckpt.BEST_NAME
                )
        es = cfg.early_stopping
        if es is None:
            return
        if improved(value, p.es_value, self.monitor_mode, es.min_delta):
            p.es_value, p.es_bad = float(value), 0
        else:
            p.es_bad += 1
            if p.es_bad >= es.patience:
                p.stopped_reason = "early_stopping"

    # ---- the loop ------------------------------------------------------------------
    def _stop_requested(self) -> bool:
        if not self.s.ddp:
            return self.stop.requested
        flag = torch.tensor([1.0 if self.stop.requested else 0.0], device=self.s.device)
        return bool(all_reduce_sum(flag) > 0)

    def fit(self) -> Progress:
        """Train until epochs, max_steps or early stopping; checkpoint along the way."""
        cfg, s, p = self.cfg, self.s, self.progress
        every = cfg.checkpoint.every_steps
        accum = cfg.grad_accum_steps
        max_steps = cfg.max_steps or math.inf
        start = time.perf_counter()
        while p.stopped_reason is None and p.epoch < cfg.epochs:
            order = s.train.order_on_device(
                epoch_order(s.train.n, cfg.seed, p.epoch, s.ctx.rank, s.ctx.world_size)
            )
            micro = list(torch.split(order, cfg.batch_size))
            partial = False
            while p.micro < len(micro):
                group = micro[p.micro : p.micro + accum]
                log_now = (p.step + 1) % cfg.log_every_steps == 0
                loss, gnorm = self.train_step(group, log_now)
                p.step += 1
                p.micro += len(group)
                self._log_acc += loss
                self._epoch_acc += loss
                self._log_n += 1
                self._epoch_n += 1
                n_samples = sum(len(g) for g in group) * s.ctx.world_size
                self._log_samples += n_samples
                self.samples_seen += n_samples
                if log_now:
                    self._log_step(gnorm)
                if every and p.step % every == 0:
                    self.save()
                if self._stop_requested():
                    self.train_time += time.perf_counter() - start - self._paused_total
                    self.save()
                    p.stopped_reason = "preempted"
                    raise Preempted(f"stopped by signal at step {p.step}; checkpoint saved")
                if p.step >= max_steps:
                    p.stopped_reason = "max_steps"
                    partial = p.micro < len(micro)
                    break
            with self._paused():
                self._end_epoch(partial)
            if every is None:
                self.save()
        self.train_time += time.perf_counter() - start - self._paused_total
        if p.stopped_reason is None:
            p.stopped_reason = "completed"
        if s.val is not None and p.last_eval_step != p.step:
            p.last_val = self.run_eval()
            p.last_eval_step = p.step
        p.completed = True
        self.save()
        return p


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in unwrap(model).parameters())

"""The epoch loop: batches, logging, evaluation, best model, early stopping, checkpoints.

Step losses stay on the device in a list and are summed only when a line is logged
or an epoch ends, so a step costs no extra torch ops; those flush points depend on
the step number alone, so a resumed run sums (and logs) exactly what an
uninterrupted one does. Batches come from a ``BatchFeed`` (prefetched or not), which
measures how long each step waited for its input ("data_wait"). Checkpoints are a
host snapshot taken at a step boundary and written by ``CheckpointWriter``.
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
from trainers.batches import TensorBatches, epoch_order
from trainers.ckpt_async import CheckpointWriter, HostSnapshot
from trainers.config import TrainConfig
from trainers.data_shard import sharded_micro_batches
from trainers.distributed import StopPoll, all_reduce_sum, unwrap
from trainers.errors import NonFiniteError, Preempted
from trainers.feed import Batch, BatchFeed
from trainers.metrics import MetricsLogger
from trainers.objective import evaluate, evaluate_batches
from trainers.setup import Setup
from trainers.signals import StopFlag
from trainers.state import Progress, improved, metric_mode
from trainers.step import Stepper
from trainers.stream import StreamFeed, StreamTrain, StreamVal

GRAD_NORM_HIGH = 1e3  # warn: exploding gradients
GRAD_NORM_LOW = 1e-7  # warn: vanishing gradients
_MAX_GRAD_WARNINGS = 5
_DDP_STOP_POLL_STEPS = 10


_FOLD_PENDING = 512  # step losses kept apart before they are summed into one


class Trainer:
    """Runs one configured job to its end (or to a checkpointed stop)."""

    def __init__(self, cfg: TrainConfig, s: Setup, logger: MetricsLogger, stop: StopFlag) -> None:
        self.cfg, self.s, self.logger, self.stop = cfg, s, logger, stop
        self.stepper = Stepper(cfg, s)
        self.params = self.stepper.params
        self.progress = Progress()
        self.monitor = cfg.early_stopping.metric if cfg.early_stopping else "val_loss"
        self.monitor_mode = metric_mode(
            self.monitor, cfg.early_stopping.mode if cfg.early_stopping else "auto"
        )
        self._pending: list[torch.Tensor] = []  # step losses not yet summed
        self._sums = {"log": 0.0, "log_n": 0, "epoch": 0.0, "epoch_n": 0}
        self._log_t = time.perf_counter()
        self._log_samples = 0
        self._paused_log = 0.0  # eval/checkpoint seconds since the last log line
        self._paused_total = 0.0
        self.train_time = 0.0
        self.samples_seen = 0
        self.data_wait = 0.0  # seconds steps waited for their batches
        self._log_wait = 0.0
        self.resumed_from: int | None = None
        self.writer = CheckpointWriter(background=s.speed.background_checkpoints)
        self._snapshot = HostSnapshot(s.device)
        self._best_snapshot = HostSnapshot(s.device)
        self._stop_poll = StopPoll(s.device, _DDP_STOP_POLL_STEPS) if s.ddp else None

    # ---- checkpoints -------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        s = self.s
        return {
            "format": ckpt.FORMAT,
            "model": unwrap(s.model).state_dict(),
            "optimizer": s.optimizer.state_dict(),
            "schedule": s.schedule.state_dict(),
            "scaler": s.scaler.state_dict() if s.scaler is not None else None,
            "rng": ckpt.capture_rng(),
            "progress": asdict(self.progress),
            "losses": {"pending": [t.cpu() for t in self._pending], **self._sums},
            "metrics_lines": self.logger.lines,
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
        self.stepper.bad_on_device.fill_(self.progress.bad_steps)
        losses = dict(state["losses"])
        self._pending = [t.to(s.device) for t in losses.pop("pending")]
        self._sums = losses
        self.resumed_from = self.progress.step

    def save(self) -> None:
        """Checkpoint now (rank 0 writes; the others only keep in step): wait for the
        previous write, copy the state to host memory, write it in the background."""
        self._sync_bad_steps()  # never checkpoint past the bad-step limit
        if not self.s.ctx.is_main:
            return
        with self._paused():
            self.writer.wait()
            state = self._snapshot.copy(self.state_dict())
            directory, step = self.s.ctx.checkpoint_dir, self.progress.step
            keep = self.cfg.checkpoint.keep_last
            self.writer.submit(
                ckpt.checkpoint_path(directory, step),
                lambda: ckpt.save_checkpoint(directory, step, state, keep),
            )

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

    # ---- one step ------------------------------------------------------------------
    def train_step(
        self, group: list[Batch], log_now: bool, weights: list[float] | None = None
    ) -> tuple[torch.Tensor, float | None]:
        """One optimizer step over ``group`` micro-batches; returns (loss, grad norm if read)."""
        s, p = self.s, self.progress
        if not s.schedule.is_constant:
            s.schedule.apply(s.optimizer, p.step)
        loss, norm, ok = self.stepper.step(group, need_norm=log_now, weights=weights)
        if ok is False:
            self._count_bad(p.bad_steps + 1, f"at step {p.step + 1}")
        return loss, (float(norm) if norm is not None and log_now else None)

    def _count_bad(self, total: int, where: str) -> None:
        p, limit = self.progress, self.cfg.max_bad_steps
        if total <= p.bad_steps:
            return
        print(
            f"warning: non-finite loss or gradient {where}; step skipped ({total}/{limit})",
            flush=True,
        )
        p.bad_steps = total
        if total > limit:
            raise NonFiniteError(
                f"{total} steps had a non-finite loss or gradient "
                f"(max_bad_steps={limit}); the last good checkpoint is kept",
                hint="lower optimizer.lr, set clip_grad_norm, or check the data for NaNs",
            )

    def _sync_bad_steps(self) -> None:
        """Read the device-side bad-step count (CUDA fused path) at a natural sync point."""
        if self.stepper.device_guard:
            self._count_bad(int(self.stepper.bad_on_device.item()), f"by step {self.progress.step}")

    # ---- logging -------------------------------------------------------------------
    def _flush(self) -> None:
        if self._pending:
            total = float(torch.stack(self._pending).sum())
            self._sums["log"] += total
            self._sums["epoch"] += total
            self._pending = []

    def _log_step(self, gnorm: float | None) -> None:
        p, s = self.progress, self.s
        self._sync_bad_steps()
        self._flush()
        now = time.perf_counter()
        elapsed = max(now - self._log_t - self._paused_log, 1e-9)
        record: dict[str, Any] = {
            "kind": "step",
            "step": p.step,
            "epoch": p.epoch + 1,
            "loss": self._sums["log"] / max(1, self._sums["log_n"]),
            "lr": s.optimizer.param_groups[0]["lr"],
            "grad_norm": gnorm,
            "samples_per_sec": self._log_samples / elapsed,
            "data_wait": min(1.0, self._log_wait / elapsed),
        }
        self.logger.log(record)
        if gnorm is not None and (gnorm > GRAD_NORM_HIGH or 0 < gnorm < GRAD_NORM_LOW):
            p.warnings += 1
            if p.warnings <= _MAX_GRAD_WARNINGS and s.ctx.is_main:
                kind = "exploding" if gnorm > GRAD_NORM_HIGH else "vanishing"
                print(
                    f"warning: {kind} gradients: grad_norm={gnorm:.3g} at step {p.step}", flush=True
                )
        self._sums["log"], self._sums["log_n"] = 0.0, 0
        self._log_t, self._paused_log, self._log_samples = now, 0.0, 0
        self._log_wait = 0.0

    def _end_epoch(self, partial: bool) -> None:
        p, s, cfg = self.progress, self.s, self.cfg
        if not partial:
            p.epoch += 1
            p.micro = 0
        self._flush()
        loss_sum, count = float(self._sums["epoch"]), float(self._sums["epoch_n"])
        if s.ddp:
            totals = all_reduce_sum(
                torch.tensor([loss_sum, count], dtype=torch.float64, device=s.device)
            )
            loss_sum, count = float(totals[0]), float(totals[1])
        p.last_train_loss = loss_sum / max(count, 1.0)
        self._sums["epoch"], self._sums["epoch_n"] = 0.0, 0
        record: dict[str, Any] = {
            "kind": "epoch",
            "step": p.step,
            "epoch": p.epoch + (1 if partial else 0),
            "loss": p.last_train_loss,
        }
        last = partial or p.epoch >= cfg.epochs
        evaluated = s.val is not None and (p.epoch % cfg.eval_every_epochs == 0 or last)
        if evaluated:
            p.last_val = self.run_eval()
            p.last_eval_step = p.step
            record.update(p.last_val)
        record["lr"] = s.optimizer.param_groups[0]["lr"]
        self.logger.log(record)
        if evaluated:
            s.schedule.observe(p.last_val["val_loss"])
        elif s.val is None:
            s.schedule.observe(p.last_train_loss)
        self._track_best(record)

    def run_eval(self) -> dict[str, float]:
        s = self.s
        assert s.val is not None
        batch = max(256, self.cfg.batch_size * 4)
        if isinstance(s.val, StreamVal):
            return evaluate_batches(
                unwrap(s.model),
                s.val.batches(s.ctx.rank, s.ctx.world_size, batch),
                s.task,
                s.num_outputs,
                1,
                s.device,
                s.autocast,
            )
        sharded = s.shard is not None  # each rank holds just the rows it evaluates
        return evaluate(
            unwrap(s.model),
            s.val,
            s.task,
            s.num_outputs,
            batch,
            0 if sharded else s.ctx.rank,
            1 if sharded else s.ctx.world_size,
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
                self.writer.wait()
                best = self._best_snapshot.copy(unwrap(self.s.model).state_dict())
                directory = self.s.ctx.checkpoint_dir
                self.writer.submit(
                    directory / ckpt.BEST_NAME, lambda: ckpt.save_best(best, directory)
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
    def _epoch_micro(
        self, train: TensorBatches, epoch: int
    ) -> tuple[list[torch.Tensor], list[list[float]] | None, list[int] | None]:
        """The epoch's micro-batch indices; on a DDP shard also each step's loss weights
        and its samples over all ranks (grouped as the feed groups, from ``progress.micro``)."""
        s, cfg = self.s, self.cfg
        if s.shard is None:
            order = epoch_order(train.n, cfg.seed, epoch, s.ctx.rank, s.ctx.world_size)
            return list(torch.split(train.order_on_device(order), cfg.batch_size)), None, None
        local, counts, weights, sizes = sharded_micro_batches(
            s.shard, cfg.seed, epoch, cfg.batch_size
        )
        micro = list(torch.split(train.order_on_device(local), counts))
        accum, start = cfg.grad_accum_steps, self.progress.micro
        starts = range(start, len(micro), accum)
        return (
            micro,
            [weights[i : i + accum] for i in starts],
            [sum(sizes[i : i + accum]) for i in starts],
        )

    def _stop_requested(self) -> bool:
        if self._stop_poll is None:
            return self.stop.requested
        return self._stop_poll(self.progress.step, self.stop.requested)

    def _feed(
        self, epoch: int, start: int
    ) -> tuple[BatchFeed | StreamFeed, int, list[list[float]] | None, list[int] | None]:
        """The epoch's micro-batch groups from micro-batch ``start``, how many micro-batches
        there are, and on a DDP shard each step's loss weights and samples over all ranks."""
        cfg, s = self.cfg, self.s
        accum, prefetch = cfg.grad_accum_steps, s.speed.prefetch
        if isinstance(s.train, StreamTrain):
            return s.train.feed(epoch, start, accum, prefetch), s.train.micro_batches, None, None
        micro, weights, samples = self._epoch_micro(s.train, epoch)
        feed = BatchFeed(s.train, micro, start, accum, prefetch, s.speed.channels_last)
        return feed, len(micro), weights, samples

    def fit(self) -> Progress:
        """Train until epochs, max_steps or early stopping; checkpoint along the way."""
        try:
            return self._fit()
        finally:
            if isinstance(self.s.train, StreamTrain):  # its decode threads read ahead
                self.s.train.close()

    def _fit(self) -> Progress:
        cfg, s, p = self.cfg, self.s, self.progress
        every = cfg.checkpoint.every_steps
        log_every = cfg.log_every_steps
        max_steps = cfg.max_steps or math.inf
        world, sums = s.ctx.world_size, self._sums
        waited = 0.0  # the feed's wait already counted in a log line
        start = time.perf_counter()
        while p.stopped_reason is None and p.epoch < cfg.epochs:
            feed, n_micro, weights, samples = self._feed(p.epoch, p.micro)
            partial = False
            try:
                for k, group in enumerate(feed):
                    log_now = (p.step + 1) % log_every == 0
                    loss, gnorm = self.train_step(group, log_now, weights[k] if weights else None)
                    p.step += 1
                    p.micro += len(group)
                    self._pending.append(loss)
                    if len(self._pending) >= _FOLD_PENDING:
                        # folded on the device (no sync): a long interval between log lines
                        # held one tensor per step, memory growing with the epoch's length
                        self._pending = [torch.stack(self._pending).sum()]
                    sums["log_n"] += 1
                    sums["epoch_n"] += 1
                    # shape[0], not len(): Tensor.__len__ is a Python-level call, every step
                    if samples is not None:
                        n_samples = samples[k]
                    elif len(group) == 1:
                        n_samples = world * group[0][0].shape[0]
                    else:
                        n_samples = world * sum(x.shape[0] for x, _ in group)
                    self._log_samples += n_samples
                    self.samples_seen += n_samples
                    if log_now:
                        self._log_wait += feed.wait_s - waited
                        waited = feed.wait_s
                        self._log_step(gnorm)
                    if every and p.step % every == 0:
                        self.save()
                    if self._stop_requested():
                        self.train_time += time.perf_counter() - start - self._paused_total
                        self.save()
                        self.writer.wait()  # the last write must finish inside the grace period
                        p.stopped_reason = "preempted"
                        raise Preempted(f"stopped by signal at step {p.step}; checkpoint saved")
                    if p.step >= max_steps:
                        p.stopped_reason = "max_steps"
                        partial = p.micro < n_micro
                        break
            finally:
                feed.close()
                self.data_wait += feed.wait_s
                self._log_wait += feed.wait_s - waited
                waited = 0.0
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
        self.writer.wait()
        return p


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in unwrap(model).parameters())

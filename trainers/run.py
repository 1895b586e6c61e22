"""One run end to end: build, resume if a checkpoint exists, train, write outputs."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from trainers import checkpoint as ckpt
from trainers.config import TrainConfig
from trainers.context import RunContext
from trainers.errors import ConfigError, NonFiniteError, TrainerError
from trainers.loop import Trainer
from trainers.metrics import METRICS_NAME, MetricsLogger, build_sinks, truncate_lines
from trainers.outputs import summary, write_model, write_summary
from trainers.setup import build_setup
from trainers.signals import StopFlag
from trainers.state import Progress

# A checkpoint written for another model or data cannot be resumed; other changes
# (more epochs, a new lr for the remaining steps) are allowed and announced.
_MUST_MATCH = ("model", "data", "batch_size", "grad_accum_steps", "seed")


def _check_resumable(cfg: TrainConfig, saved: dict[str, Any], path: Path) -> None:
    now = cfg.model_dump(mode="json")
    for key in _MUST_MATCH:
        if saved.get(key) != now.get(key):
            raise ConfigError(
                f"checkpoint {path} was written with a different trainer.{key}",
                hint="use a fresh checkpoint dir, or set checkpoint.resume: false",
            )
    changed = sorted(k for k in now if saved.get(k) != now.get(k))
    if changed:
        print(f"note: resuming with changed settings: {', '.join(changed)}", flush=True)


def _reopen_if_extended(cfg: TrainConfig, p: Progress) -> None:
    """A finished run restarted with more epochs or steps trains on instead of stopping."""
    more_epochs = p.epoch < cfg.epochs and (cfg.max_steps is None or p.step < cfg.max_steps)
    if p.completed and p.stopped_reason in ("completed", "max_steps") and more_epochs:
        p.completed, p.stopped_reason = False, None


def _finish_writes(trainer: Trainer) -> None:
    """Let a checkpoint still being written finish (the last good one is kept on an
    error too); its own failure is raised unless another error is already on its way."""
    in_flight = sys.exc_info()[1]  # read here: inside the except below it is the new error
    try:
        trainer.writer.wait()
    except TrainerError as exc:
        if in_flight is None:
            raise
        print(f"warning: {exc.line()}", file=sys.stderr, flush=True)


def run(
    cfg: TrainConfig,
    ctx: RunContext,
    code_dir: Path | None = None,
    stop: StopFlag | None = None,
) -> dict[str, Any]:
    """Train ``cfg`` in ``ctx``; returns the summary (rank 0 also writes it)."""
    started = time.perf_counter()
    stop = stop or StopFlag()
    setup = build_setup(cfg, ctx, code_dir)
    latest = ckpt.load_latest(ctx.checkpoint_dir) if cfg.checkpoint.resume else None
    resumed_step: int | None = None
    if latest is not None:
        state, path = latest
        if state.get("format") != ckpt.FORMAT:
            raise ConfigError(
                f"checkpoint {path} was written by an incompatible trainer version",
                hint="use a fresh checkpoint dir, or set checkpoint.resume: false",
            )
        _check_resumable(cfg, state.get("config", {}), path)
        resumed_step = int(state["progress"]["step"])
        if ctx.is_main:
            truncate_lines(ctx.output_dir / METRICS_NAME, int(state["metrics_lines"]))
    sinks = []
    if ctx.is_main:
        sinks = build_sinks(
            tensorboard_dir=ctx.tensorboard_dir,
            hp_metric_file=ctx.hp_metric_file,
            trial_id=ctx.trial_id,
            use_mlflow=ctx.platform == "azureml",
            resumed_step=resumed_step,
        )
    logger = MetricsLogger(ctx.output_dir, ctx.is_main, sinks)
    trainer = Trainer(cfg, setup, logger, stop)
    if latest is not None:
        trainer.load_state_dict(latest[0])
        _reopen_if_extended(cfg, trainer.progress)
        if ctx.is_main:
            print(f"resumed from {latest[1]} at step {resumed_step}", flush=True)
    if ctx.is_main:
        print(
            f"training {cfg.model.kind} on {cfg.data.source} ({setup.dataset.n_train} train / "
            f"{setup.dataset.n_val} val rows, task={setup.task}) on {setup.device} "
            f"world={ctx.world_size} platform={ctx.platform}",
            flush=True,
        )
    weights: str | None = None
    try:
        if not trainer.progress.completed:
            trainer.fit()
        if ctx.is_main:
            weights = write_model(cfg, trainer)
    except TrainerError as exc:
        reason = "non_finite" if isinstance(exc, NonFiniteError) else "error"
        trainer.progress.stopped_reason = trainer.progress.stopped_reason or reason
        raise
    finally:
        _finish_writes(trainer)
        logger.close()
        write_summary(cfg, trainer, time.perf_counter() - started, weights)
    return summary(cfg, trainer, time.perf_counter() - started, weights)

"""Build everything a run needs from a TrainConfig and a RunContext."""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainers.batches import TensorBatches, steps_per_epoch
from trainers.config import TrainConfig
from trainers.config_data import resolved_mode
from trainers.context import RunContext
from trainers.data import Dataset, load_dataset, validation_dir
from trainers.data_shard import Shard, shard_dataset
from trainers.distributed import init_process_group, select_device, unwrap
from trainers.errors import ConfigError
from trainers.models import build_model
from trainers.objective import LossFn, loss_function, model_outputs
from trainers.optim import LRSchedule, build_optimizer, scaled_lr
from trainers.shard_norm import global_batch_norm
from trainers.speed import SpeedPlan, plan_speed
from trainers.stream import StreamInfo, StreamTrain, StreamVal, open_stream

_RANK_SEED_STRIDE = 7919  # a prime, so ranks draw different dropout masks


@dataclass
class Setup:
    """The built pieces of a run; the loop only reads them."""

    ctx: RunContext
    device: torch.device
    dataset: Dataset | StreamInfo
    model: nn.Module  # possibly wrapped in DDP and/or torch.compile
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    scaler: torch.amp.GradScaler | None
    train: TensorBatches | StreamTrain
    val: TensorBatches | StreamVal | None
    task: str
    num_outputs: int
    loss_fn: LossFn
    autocast: Callable[[], contextlib.AbstractContextManager[Any]]
    ddp: bool
    base_lr: float
    total_steps: int
    steps_per_epoch: int
    global_batch: int
    speed: SpeedPlan
    shard: Shard | None = None  # DDP: this rank holds only its shard of the training rows


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def configure_torch(cfg: TrainConfig) -> None:
    """Threads and determinism, before any tensor work."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def make_autocast(
    device: torch.device, precision: str
) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """A factory of the autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    dev_type = device.type if device.type in ("cuda", "xla") else "cpu"
    return lambda: torch.autocast(device_type=dev_type, dtype=dtype)


def build_setup(cfg: TrainConfig, ctx: RunContext, code_dir: Path | None = None) -> Setup:
    """Device, process group, data, model, optimizer, schedule and scaler for ``cfg``."""
    configure_torch(cfg)
    device = select_device(cfg.device, ctx)
    if cfg.precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision fp16 needs a CUDA device", hint="use precision: bf16")
    ddp = init_process_group(ctx, device)
    seed_everything(cfg.seed)
    dataset: Dataset | StreamInfo
    train: TensorBatches | StreamTrain
    val: TensorBatches | StreamVal | None = None
    shard = None
    if resolved_mode(cfg.data) == "stream":
        dataset, train, val = open_stream(cfg, ctx, device)
        spe = math.ceil(train.micro_batches / cfg.grad_accum_steps)
    else:
        dataset = load_dataset(
            cfg.data,
            cfg.seed,
            cfg.model.kind,
            ctx.data_dir,
            validation_dir(ctx.data_dirs),
            model=cfg.model,
            code_dir=code_dir,
            share=(ctx.rank, ctx.world_size),  # every model trains on shards
        )
    num_outputs = model_outputs(dataset.task, dataset.num_outputs, cfg.model.kind)
    model: nn.Module = build_model(cfg.model, dataset.input_shape, num_outputs, code_dir)
    if isinstance(dataset, Dataset):
        dataset, shard = shard_dataset(dataset, ctx.rank, ctx.world_size)
        if shard is not None:  # a rank's share of a batch is not the batch: normalise over all
            model = global_batch_norm(model, device)
        if shard is None and "loaded_shard" in dataset.meta:  # load_share and this disagree
            raise RuntimeError("the data was loaded as one rank's shard but is trained whole")
        train = TensorBatches(dataset.x_all, dataset.y_all, device, dataset.train_rows)
        if dataset.val_rows is not None:  # rows of the same tensors: share their device copy
            val = TensorBatches(train.x, train.y, device, dataset.val_rows)
        elif dataset.val_x is not None and dataset.val_y is not None:
            val = TensorBatches(dataset.val_x, dataset.val_y, device)
        spe = steps_per_epoch(dataset.n_train, ctx.world_size, cfg.batch_size, cfg.grad_accum_steps)
    total = cfg.epochs * spe
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    speed = plan_speed(cfg, device, int(total), train.resident)
    model = model.to(device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if ctx.rank > 0:
        torch.manual_seed(cfg.seed + _RANK_SEED_STRIDE * ctx.rank)
    if ddp:
        device_ids = [device.index] if device.type == "cuda" else None
        model = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    if speed.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    global_batch = cfg.batch_size * ctx.world_size * cfg.grad_accum_steps
    lr = scaled_lr(cfg.optimizer, global_batch)
    fused = device.type == "cuda"
    optimizer = build_optimizer(cfg.optimizer, unwrap(model), lr, fused=fused)
    schedule = LRSchedule(cfg.schedule, lr, total, spe)
    schedule.apply(optimizer, 0)
    scaler = torch.amp.GradScaler("cuda") if cfg.precision == "fp16" else None
    if dataset.n_train < cfg.batch_size and cfg.optimizer.name != "lbfgs" and ctx.is_main:
        print(
            f"note: batch_size {cfg.batch_size} > {dataset.n_train} training rows: full-batch GD",
            flush=True,
        )
    return Setup(
        ctx=ctx,
        device=device,
        dataset=dataset,
        model=model,
        optimizer=optimizer,
        schedule=schedule,
        scaler=scaler,
        train=train,
        val=val,
        task=dataset.task,
        num_outputs=num_outputs,
        loss_fn=loss_function(dataset.task, num_outputs),
        autocast=make_autocast(device, cfg.precision),
        ddp=ddp,
        base_lr=lr,
        total_steps=int(total) if math.isfinite(total) else 0,
        steps_per_epoch=spe,
        global_batch=global_batch,
        speed=speed,
        shard=shard,
    )

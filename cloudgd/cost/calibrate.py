"""Measure FLOPs per sample and samples per second with a few real training steps here.

``cloudgd cost --calibrate`` runs this before estimating. The trainer package's
model builder is not on main yet, so this module builds the model itself from
the ``trainer:`` block (linear, logistic, softmax, mlp, and cnn on digits) and
says so in ``Calibration.model_path``. torch is imported only inside
:func:`calibrate`, so importing this module stays cheap.
"""

from __future__ import annotations

import time
from typing import Any

from cloudgd.cost.throughput import Calibration, dataset_shape
from cloudgd.errors import SpecError
from trainers.config import TrainConfig

MODEL_PATH = "cloudgd.cost.calibrate (own minimal model builder; trainer API not on main)"
_SUPPORTED = ("linear", "logistic", "softmax", "mlp", "cnn")


def _activation(nn: Any, name: str) -> Any:
    return {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}[name]()


def _build_model(torch: Any, trainer: TrainConfig, features: int, outputs: int) -> Any:
    """A model with the same layer shapes as the trainer's for the supported kinds."""
    nn = torch.nn
    cfg = trainer.model
    if cfg.kind in ("linear", "logistic", "softmax"):
        return nn.Linear(features, outputs)
    if cfg.kind == "mlp":
        layers: list[Any] = []
        width = features
        for hidden in cfg.hidden:
            layers.append(nn.Linear(width, hidden))
            if cfg.batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(_activation(nn, cfg.activation))
            if cfg.dropout:
                layers.append(nn.Dropout(cfg.dropout))
            width = hidden
        layers.append(nn.Linear(width, outputs))
        return nn.Sequential(*layers)
    # cnn on 8x8 digit images: one 3x3 conv stage per hidden width, then a linear head.
    side = int(features**0.5)
    if trainer.data.source != "digits" or side * side != features:
        raise SpecError(
            "trainer.model.kind=cnn: calibration builds CNNs for data.source=digits only",
            hint="set limits.expected_runtime instead of --calibrate",
        )
    convs: list[Any] = [nn.Unflatten(1, (1, side, side))]
    channels = 1
    for hidden in cfg.hidden:
        convs += [nn.Conv2d(channels, hidden, 3, padding=1), _activation(nn, cfg.activation)]
        channels = hidden
    convs += [nn.Flatten(), nn.Linear(channels * features, outputs)]
    return nn.Sequential(*convs)


def _optimizer(torch: Any, trainer: TrainConfig, params: Any) -> Any:
    opt = trainer.optimizer
    # L-BFGS needs a closure and re-evaluates the loss; time it as SGD (stated in docs).
    table = {
        "sgd": torch.optim.SGD,
        "lbfgs": torch.optim.SGD,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "rmsprop": torch.optim.RMSprop,
        "adagrad": torch.optim.Adagrad,
    }
    return table[opt.name](params, lr=opt.lr)


def calibrate(trainer: TrainConfig, *, steps: int = 5, warmup: int = 2) -> Calibration:
    """Run ``warmup`` + ``steps`` real optimizer steps on random data of the job's shape.

    Raises SpecError for model kinds or data sources the calibration cannot build.
    """
    if trainer.model.kind not in _SUPPORTED:
        raise SpecError(
            f"trainer.model.kind={trainer.model.kind}: --calibrate supports "
            f"{', '.join(_SUPPORTED)} until the trainer's model builder is available",
            hint="set limits.expected_runtime instead of --calibrate",
        )
    shape = dataset_shape(trainer)
    if shape is None:
        raise SpecError(
            f"trainer.data.source={trainer.data.source}: --calibrate needs a built-in source "
            "(digits, synthetic_*) to know the input shape",
            hint="set limits.expected_runtime instead of --calibrate",
        )
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    _, features, outputs = shape
    regression = trainer.data.source == "synthetic_regression" or trainer.data.task == (
        "regression"
    )
    torch.manual_seed(trainer.seed)
    use_cuda = torch.cuda.is_available() and trainer.device in ("auto", "cuda")
    device = torch.device("cuda" if use_cuda else "cpu")
    model = _build_model(torch, trainer, features, outputs).to(device)
    model.train()
    optimizer = _optimizer(torch, trainer, model.parameters())
    batch = trainer.batch_size
    x = torch.randn(batch, features, device=device)
    if regression:
        y = torch.randn(batch, outputs, device=device)
        loss_fn: Any = torch.nn.MSELoss()
    else:
        y = torch.randint(0, outputs, (batch,), device=device)
        loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> Any:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    counter = FlopCounterMode(display=False)
    with counter:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
    flops_per_sample = counter.get_total_flops() / batch
    for _ in range(warmup):
        step()
    if use_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        last = step()
    last.detach().cpu()  # one sync at the end, so the timing covers all queued work
    elapsed = max(time.perf_counter() - start, 1e-9)
    return Calibration(
        flops_per_sample=float(flops_per_sample),
        samples_per_second=steps * batch / elapsed,
        steps_measured=steps,
        batch_size=batch,
        device=device.type,
        threads=torch.get_num_threads(),
        model_path=MODEL_PATH,
    )

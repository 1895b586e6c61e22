"""The loss of each task and the validation metrics, summed across ranks.

Classification: cross-entropy on logits (binary logistic regression: one logit and
BCE); metric ``val_accuracy``. Regression: mean squared error; ``val_mse`` and
``val_r2`` (averaged over target columns, as scikit-learn's r2_score does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from trainers.batches import TensorBatches
from trainers.distributed import all_reduce_sum

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_function(task: str, num_outputs: int) -> LossFn:
    """Mean loss of a batch of model outputs against targets."""
    if task == "regression":
        return lambda out, y: F.mse_loss(out.float(), y)
    if num_outputs == 1:
        return lambda out, y: F.binary_cross_entropy_with_logits(out.float().squeeze(-1), y.float())
    return lambda out, y: F.cross_entropy(out.float(), y)


def model_outputs(task: str, n_classes: int | None, kind: str) -> int:
    """How many outputs the model needs (binary logistic regression uses a single logit)."""
    if task == "classification":
        assert n_classes is not None
        return 1 if kind == "logistic" and n_classes == 2 else n_classes
    return n_classes or 1


def evaluate(
    model: nn.Module,
    data: TensorBatches,
    task: str,
    num_outputs: int,
    batch_size: int,
    rank: int,
    world: int,
    autocast: Callable[[], contextlib.AbstractContextManager[None]],
) -> dict[str, float]:
    """Validation metrics over the whole split, each rank taking every world-th row."""
    index = data.order_on_device(torch.arange(rank, data.n, world))
    width = int(data.y.shape[1]) if data.y.ndim > 1 else 1
    batches = (data.batch(index[s : s + batch_size]) for s in range(0, len(index), batch_size))
    return evaluate_batches(model, batches, task, num_outputs, width, data.device, autocast)


@torch.no_grad()
def evaluate_batches(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    task: str,
    num_outputs: int,
    width: int,
    device: torch.device,
    autocast: Callable[[], contextlib.AbstractContextManager[None]],
) -> dict[str, float]:
    """Validation metrics over this rank's ``batches`` (on ``device``), summed across ranks;
    ``width`` is the number of regression target columns."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.float64, device=device)
    count = torch.zeros((), dtype=torch.float64, device=device)
    sse = torch.zeros(width, dtype=torch.float64, device=device)
    sum_y = torch.zeros(width, dtype=torch.float64, device=device)
    sum_y2 = torch.zeros(width, dtype=torch.float64, device=device)
    for x, y in batches:
        with autocast():
            out = model(x)
        out = out.float()
        count += len(y)
        if task == "regression":
            err = (out - y).double()
            sse += (err**2).sum(0)
            sum_y += y.double().sum(0)
            sum_y2 += (y.double() ** 2).sum(0)
            loss_sum += (err**2).mean(1).sum()
        elif num_outputs == 1:
            logit = out.squeeze(-1)
            loss_sum += F.binary_cross_entropy_with_logits(logit, y.float(), reduction="sum")
            correct += ((logit > 0).long() == y).sum()
        else:
            loss_sum += F.cross_entropy(out, y, reduction="sum")
            correct += (out.argmax(-1) == y).sum()
    totals = all_reduce_sum(
        torch.cat([loss_sum[None], correct[None], count[None], sse, sum_y, sum_y2])
    )
    model.train(was_training)
    loss_total, correct_total, n = totals[0], totals[1], totals[2].clamp(min=1)
    metrics = {"val_loss": float(loss_total / n)}
    if task == "regression":
        sse_t, sy, sy2 = (
            totals[3 : 3 + width],
            totals[3 + width : 3 + 2 * width],
            totals[3 + 2 * width :],
        )
        sst = (sy2 - sy**2 / n).clamp(min=1e-12)
        metrics["val_mse"] = float(sse_t.sum() / (n * width))
        metrics["val_r2"] = float((1 - sse_t / sst).mean())
    else:
        metrics["val_accuracy"] = float(correct_total / n)
    return metrics

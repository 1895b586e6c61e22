"""Batch norm over a step's whole micro-batch when each DDP rank holds only its shard.

On a shard (see data_shard.py) a rank's share of a micro-batch varies in size, down to
one row or none, so batch norm over a rank's own rows would normalise with other
statistics than one process does (and fails on one row). Here every batch-norm layer
normalises, in training mode, with the mean and variance of the micro-batch over all
ranks, which is exactly the batch one process normalises:

- CUDA: ``torch.nn.SyncBatchNorm``, which gathers each rank's (count, mean, var).
- other devices (CPU/gloo, XLA): SyncBatchNorm refuses them (torch 2.13 checks that
  its input is on cuda, hpu, xpu or the PrivateUse1 device), so ``GlobalBatchNorm``
  computes the same statistics: each rank's (sum, sum of squared deviations, count) go
  into its row of a world x (2C+1) table, one all-reduce fills the table on every rank,
  and the parts combine as Chan et al.'s parallel variance.

The statistics depend on every rank's rows, so the gradient does too: the all-reduce's
backward all-reduces the incoming gradient, which gives each rank the other ranks'
losses' dependence on its own rows (SyncBatchNorm's backward does the same). With the
shard loss weights, which make the ranks' losses sum to W x the batch's mean loss, and
DDP's average of the ranks' gradients, the step's gradient is one process's. Running
statistics are updated from the global statistics (the unbiased variance uses the global
count), so they are equal on every rank and equal one process's; eval mode uses them
as plain batch norm does. The layers keep BatchNorm's parameter and buffer names, so
state_dicts, checkpoints and the exported model load into the ordinary model.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose backward all-reduces the gradient: d(sum_r t_r)/d t_r = 1,
    summed over every rank's loss."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm{1,2,3}d whose training-mode statistics cover every rank's rows."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not self.training:  # running statistics (or this batch's, untracked): no sync
            return super().forward(input)
        self._check_input_dim(input)
        channels = input.shape[1]
        dims = [0, *range(2, input.dim())]
        shape = [1, channels] + [1] * (input.dim() - 2)
        x = input.float() if input.dtype in (torch.float16, torch.bfloat16) else input
        count = x.numel() // channels
        local_sum = x.sum(dims)
        local_m2 = ((x - (local_sum / max(count, 1)).view(shape)) ** 2).sum(dims)
        row = torch.cat([local_sum, local_m2, local_sum.new_full((1,), float(count))])
        rank, world = dist.get_rank(), dist.get_world_size()
        width = row.numel()
        table = torch.cat(
            [row.new_zeros(rank, width), row[None], row.new_zeros(world - rank - 1, width)]
        )
        sums, m2s, counts = _SumOverRanks.apply(table).split([channels, channels, 1], dim=1)
        total = counts.sum()
        mean = sums.sum(0) / total
        rank_means = sums / counts.clamp(min=1)
        var = (m2s.sum(0) + (counts * (rank_means - mean) ** 2).sum(0)) / total
        if self.track_running_stats:
            self._update_running(mean.detach(), var.detach(), total.detach())
        out = (x - mean.view(shape)) * torch.rsqrt(var + self.eps).view(shape)
        if self.weight is not None:
            out = out * self.weight.view(shape)
        if self.bias is not None:
            out = out + self.bias.view(shape)
        return out.to(input.dtype)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, n: torch.Tensor) -> None:
        """As torch's batch norm: momentum, or a cumulative average when momentum is None."""
        assert self.running_mean is not None and self.running_var is not None
        assert self.num_batches_tracked is not None
        self.num_batches_tracked.add_(1)
        factor = self.momentum
        if factor is None:
            factor = 1.0 / float(self.num_batches_tracked)
        unbiased = var * n / (n - 1)
        self.running_mean.copy_(factor * mean + (1 - factor) * self.running_mean)
        self.running_var.copy_(factor * unbiased + (1 - factor) * self.running_var)


def _to_global(module: nn.Module) -> nn.Module:
    out = module
    if isinstance(module, _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        out = GlobalBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
            bias=module.bias is not None,
        )
        # the same Parameter and buffer objects: nothing is copied, names stay the same
        out.weight, out.bias = module.weight, module.bias
        out.running_mean, out.running_var = module.running_mean, module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, _to_global(child))
    return out


def global_batch_norm(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` with every batch-norm layer normalising over all ranks' rows of a step
    (a no-op for a model without batch norm). Call before wrapping it in DDP."""
    if device.type == "cuda":
        converted: nn.Module = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return converted
    return _to_global(model)

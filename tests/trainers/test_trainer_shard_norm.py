"""Batch norm on DDP shards: two gloo ranks holding uneven shares of a batch (one row and
seven, then none and eight) normalise, differentiate and track statistics as one plain
BatchNorm2d does on the whole batch."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from test_trainer_ddp import free_port
from torch import nn

from trainers.shard_norm import GlobalBatchNorm, global_batch_norm

SHARES = [(slice(0, 1), slice(1, 8)), (slice(0, 0), slice(0, 8))]  # rank 0's rows, rank 1's


def _rank_main(rank: int, port: int) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        plain = nn.Sequential(nn.BatchNorm2d(3, momentum=None))  # cumulative running average
        with torch.no_grad():
            plain[0].weight.uniform_(0.5, 1.5)
            plain[0].bias.uniform_(-1, 1)
        ours = global_batch_norm(_copy(plain), torch.device("cpu"))
        assert isinstance(ours[0], GlobalBatchNorm)
        for shares in SHARES:
            x = torch.randn(8, 3, 4, 4).to(memory_format=torch.channels_last) * 3 + 1
            w = torch.randn(8, 3, 4, 4)  # the loss is sum(w * out): rows' losses add up
            xr = x.clone().requires_grad_(True)
            ref = plain(xr)
            (ref * w).sum().backward()
            mine = shares[rank]
            xs = x[mine].clone().requires_grad_(True)
            out = ours(xs)
            (out * w[mine]).sum().backward()
            torch.testing.assert_close(out, ref[mine].detach(), rtol=1e-4, atol=1e-5)
            assert xs.grad is not None and xr.grad is not None
            torch.testing.assert_close(xs.grad, xr.grad[mine], rtol=1e-4, atol=1e-5)
            for ours_p, plain_p in zip(ours.parameters(), plain.parameters(), strict=True):
                assert ours_p.grad is not None and plain_p.grad is not None
                dist.all_reduce(ours_p.grad)  # what DDP does (then divides by W)
                torch.testing.assert_close(ours_p.grad, plain_p.grad, rtol=1e-4, atol=1e-5)
                ours_p.grad, plain_p.grad = None, None
        for name, buf in plain.state_dict().items():
            torch.testing.assert_close(ours.state_dict()[name], buf, rtol=1e-5, atol=1e-6)
        ours.eval()
        plain.eval()
        x = torch.randn(5, 3, 4, 4)
        torch.testing.assert_close(ours(x), plain(x))
    finally:
        dist.destroy_process_group()


def _copy(model: nn.Module) -> nn.Module:
    clone = nn.Sequential(nn.BatchNorm2d(3, momentum=None))
    clone.load_state_dict(model.state_dict())
    return clone


@pytest.mark.slow
def test_global_batch_norm_on_uneven_shares_equals_batch_norm_of_the_batch() -> None:
    mp.spawn(_rank_main, args=(free_port(),), nprocs=2, join=True)


def test_the_converted_model_keeps_batch_norm_names_and_shares_its_tensors() -> None:
    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.BatchNorm1d(8))
    names = list(plain.state_dict())
    tensors = [t.data_ptr() for t in plain.state_dict().values()]
    ours = global_batch_norm(plain, torch.device("cpu"))
    assert [type(m) for m in ours] == [nn.Conv2d, GlobalBatchNorm, nn.Flatten, GlobalBatchNorm]
    assert list(ours.state_dict()) == names
    assert [t.data_ptr() for t in ours.state_dict().values()] == tensors
    nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.BatchNorm1d(8)
    ).load_state_dict(ours.state_dict())

"""Per-rank shards under DDP: each rank holds ~1/W of the rows, and every micro-batch is,
over all ranks together, exactly the micro-batch the unsharded order gave."""

from __future__ import annotations

import pytest
import torch

from trainers.batches import epoch_order
from trainers.config import DataConfig
from trainers.data import load_dataset
from trainers.data_shard import Shard, shard_dataset, sharded_micro_batches


@pytest.mark.parametrize(("n", "world", "batch"), [(40, 2, 4), (37, 3, 5), (10, 4, 8)])
def test_every_micro_batch_keeps_its_rows_across_ranks(n: int, world: int, batch: int) -> None:
    for epoch in (0, 3):
        before = [  # today's order: rank r's micro-batches of the DistributedSampler order
            list(torch.split(epoch_order(n, 7, epoch, rank, world), batch)) for rank in range(world)
        ]
        parts = [sharded_micro_batches(Shard(n, r, world), 7, epoch, batch) for r in range(world)]
        for j in range(len(before[0])):
            expected = sorted(int(i) for rank in range(world) for i in before[rank][j])
            got, weight = [], 0.0
            for rank, (local, counts, weights, sizes) in enumerate(parts):
                assert len(counts) == len(before[0]) and sizes[j] == len(expected)
                mine = torch.split(local, counts)[j]
                got += [int(i) * world + rank for i in mine]  # a local row's split position
                weight += weights[j]
            assert sorted(got) == expected
            assert weight == pytest.approx(world)  # the weighted losses average to the mean


def test_a_rank_keeps_only_its_rows() -> None:
    cfg = DataConfig(source="synthetic_regression", n_samples=101, n_features=3)
    full = load_dataset(cfg, seed=0)
    shards = [shard_dataset(full, rank, 3) for rank in range(3)]
    rows = torch.cat([ds.x_train for ds, _ in shards])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, full.x_train.tolist()))
    for rank, (ds, shard) in enumerate(shards):
        assert shard == Shard(full.n_train, rank, 3)
        assert ds.x_all.shape[0] in (26, 27) and ds.train_rows is None
        assert (ds.n_train, ds.n_val) == (full.n_train, full.n_val)  # sizes of the whole split
        assert full.x_val is not None and ds.val_x is not None
        assert torch.equal(ds.val_x, full.x_val[rank::3])  # the rows this rank evaluates
    same, none = shard_dataset(full, 0, 1)  # one process: nothing to shard
    assert same is full and none is None

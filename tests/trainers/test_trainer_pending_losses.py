"""Step losses waiting for the next log line are folded into one tensor every so often,
so a long interval between log lines does not hold a tensor per step; the logged
losses stay what they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from trainer_helpers import make_trainer

import trainers.loop


def epoch_losses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fold: int) -> tuple[float, int]:
    monkeypatch.setattr(trainers.loop, "_FOLD_PENDING", fold)
    # 200 rows, batch 8: 25 steps an epoch, and no log line before the epoch ends
    trainer = make_trainer(tmp_path / str(fold), batch_size=8, log_every_steps=1000, epochs=1)
    most = 0
    step = trainer.train_step

    def watched(*args: Any, **kwargs: Any) -> Any:
        nonlocal most
        most = max(most, len(trainer._pending))
        return step(*args, **kwargs)

    summed: list[float] = []
    end_epoch = trainer._end_epoch

    def at_the_end(partial: bool) -> None:
        trainer._flush()
        summed.append(float(trainer._sums["epoch"]))
        end_epoch(partial)

    monkeypatch.setattr(trainer, "train_step", watched)
    monkeypatch.setattr(trainer, "_end_epoch", at_the_end)
    trainer.fit()
    [loss_sum] = summed
    return loss_sum, most


def test_pending_step_losses_are_folded_and_sum_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unfolded, most_unfolded = epoch_losses(tmp_path, monkeypatch, fold=10_000)
    folded, most_folded = epoch_losses(tmp_path, monkeypatch, fold=4)
    assert most_unfolded >= 19  # one per step, the whole epoch (25 steps, the last few logged)
    assert most_folded <= 4
    assert folded == pytest.approx(unfolded, rel=1e-6) and folded > 0

"""Calibration: real training steps on a tiny model, FLOPs counted by torch."""

from __future__ import annotations

import pytest

from cloudgd.cost.calibrate import calibrate
from cloudgd.errors import SpecError
from trainers.config import TrainConfig

pytestmark = pytest.mark.slow  # imports torch and runs real optimizer steps


def config(**parts: object) -> TrainConfig:
    return TrainConfig.model_validate(parts)


def test_mlp_flops_per_sample_hand_computed() -> None:
    # digits: 64 -> 16 -> 10. forward 2*64*16 + 2*16*10 = 2368; backward: weight grads
    # 2048 + 320, input grad of the second layer 320 (the data needs no grad) -> 5056
    result = calibrate(config(model={"kind": "mlp", "hidden": [16]}, batch_size=32), steps=2)
    assert result.flops_per_sample == 5056.0
    assert result.samples_per_second > 0
    assert (result.steps_measured, result.batch_size, result.device) == (2, 32, "cpu")
    assert "own minimal model builder" in result.model_path


def test_cnn_on_digits_flops_hand_computed() -> None:
    # conv 1->4 3x3 on 8x8: 2*9*4*64 = 4608 fwd, 4608 weight grad; head 256->10:
    # 5120 fwd, 5120 weight grad, 5120 input grad -> 24576
    result = calibrate(config(model={"kind": "cnn", "hidden": [4]}, batch_size=8), steps=1)
    assert result.flops_per_sample == 24576.0


def test_regression_uses_one_output() -> None:
    # synthetic_regression 20 features -> 1: fwd 40, weight grad 40 -> 80
    result = calibrate(
        config(
            model={"kind": "linear"},
            data={"source": "synthetic_regression", "n_features": 20},
            batch_size=4,
        ),
        steps=1,
    )
    assert result.flops_per_sample == 80.0


def test_unsupported_model_kind_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match=r"trainer\.model\.kind=resnet"):
        calibrate(config(model={"kind": "resnet"}))


def test_file_sources_need_expected_runtime() -> None:
    with pytest.raises(SpecError, match="built-in source"):
        calibrate(config(data={"source": "csv", "uri": "data.csv"}))

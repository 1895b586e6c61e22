"""Model families, init schemes, gradient checkpointing and custom models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from trainer_helpers import read_summary

from trainers.config import ModelConfig
from trainers.errors import ConfigError
from trainers.models import Checkpointed, build_model

DIGITS_SHAPE = (1, 8, 8)


@pytest.mark.parametrize("kind", ["linear", "softmax", "mlp", "cnn", "resnet"])
def test_every_family_maps_a_batch_to_outputs(kind: str) -> None:
    model = build_model(ModelConfig(kind=kind, hidden=[8, 16]), DIGITS_SHAPE, 10)
    assert model(torch.randn(4, *DIGITS_SHAPE)).shape == (4, 10)


def test_image_models_refuse_tabular_input() -> None:
    with pytest.raises(ConfigError, match="needs image input"):
        build_model(ModelConfig(kind="cnn"), (20,), 2)


def test_mlp_layers_follow_the_config() -> None:
    cfg = ModelConfig(kind="mlp", hidden=[8], activation="gelu", dropout=0.5, batch_norm=True)
    model = build_model(cfg, (5,), 3)
    kinds = [type(m).__name__ for m in model.modules()]
    assert [k for k in kinds if k in ("Linear", "BatchNorm1d", "GELU", "Dropout")] == [
        "Linear",
        "BatchNorm1d",
        "GELU",
        "Dropout",
        "Linear",
    ]


def test_init_schemes() -> None:
    torch.manual_seed(0)
    xavier = build_model(ModelConfig(kind="mlp", hidden=[256], init="xavier"), (256,), 256)
    bound = (6 / (256 + 256)) ** 0.5
    first = xavier[1][0]
    assert float(first.weight.detach().abs().max()) <= bound
    assert float(first.bias.detach().abs().max()) == 0.0
    he = build_model(ModelConfig(kind="mlp", hidden=[256], init="he"), (256,), 2)
    std = float(he[1][0].weight.detach().std())
    assert std == pytest.approx((2 / 256) ** 0.5, rel=0.05)


@pytest.mark.parametrize("kind", ["mlp", "cnn", "resnet"])
def test_gradient_checkpointing_gives_the_same_gradients(kind: str) -> None:
    x = torch.randn(6, *DIGITS_SHAPE)
    grads = []
    for enabled in (False, True):
        torch.manual_seed(0)
        cfg = ModelConfig(kind=kind, hidden=[8, 8], gradient_checkpointing=enabled)
        model = build_model(cfg, DIGITS_SHAPE, 3)
        assert any(isinstance(m, Checkpointed) for m in model.modules()) == enabled
        model(x).square().sum().backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    for plain, recomputed in zip(*grads, strict=True):
        torch.testing.assert_close(plain, recomputed)


@pytest.mark.parametrize("kind", ["cnn", "resnet"])
def test_image_models_learn_digits(run_trainer, kind: str) -> None:
    cfg = {
        "model": {"kind": kind, "hidden": [16, 32]},
        "data": {"source": "digits", "limit": 600},
        "optimizer": {"name": "adam", "lr": 0.01},
        "epochs": 8,
        "batch_size": 32,
        "num_threads": 1,
        "device": "cpu",
    }
    code, run = run_trainer(cfg)
    assert code == 0
    assert read_summary(run)["final"]["val_accuracy"] > 0.9


def test_custom_model_from_the_code_dir(run_trainer, tmp_path: Path) -> None:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "mynet.py").write_text(
        "from torch import nn\n"
        "def build(input_shape, num_outputs, width=4):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0], width),\n"
        "                         nn.Tanh(), nn.Linear(width, num_outputs))\n"
    )
    cfg = {
        "model": {"kind": "custom", "entrypoint": "mynet:build", "args": {"width": 7}},
        "data": {"source": "synthetic_classification", "n_samples": 100, "n_features": 3},
        "epochs": 1,
        "num_threads": 1,
    }
    code, run = run_trainer(cfg, "--code-dir", str(code_dir))
    assert code == 0
    state = torch.load(run / "model" / "model.pt", weights_only=True)
    assert state["1.weight"].shape == (7, 3)


def test_custom_model_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot import 'nosuchmodule'"):
        build_model(ModelConfig(kind="custom", entrypoint="nosuchmodule:f"), (3,), 2, tmp_path)
    (tmp_path / "notamodel.py").write_text("def f(shape, n):\n    return 42\n")
    with pytest.raises(ConfigError, match="returned int"):
        build_model(ModelConfig(kind="custom", entrypoint="notamodel:f"), (3,), 2, tmp_path)


def test_huggingface_model_that_cannot_be_found_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Hugging Face path itself is tested in tests/classics (tiny BERT, no download).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match=r"model\.name"):
        build_model(ModelConfig(kind="huggingface", name=str(tmp_path / "none")), (2, 8), 2)


def test_checkpointed_block_is_transparent_in_eval() -> None:
    block = Checkpointed(nn.Linear(2, 2)).eval()
    x = torch.randn(3, 2)
    torch.testing.assert_close(block(x), block.block(x))

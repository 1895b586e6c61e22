"""The model families: linear, logistic/softmax, MLP, small CNN, small ResNet, custom,
and Hugging Face sequence classifiers (``hf.py``).

``build_model(cfg, input_shape, num_outputs, code_dir)`` returns an ``nn.Module``
that maps a batch of inputs to logits (classification) or predictions (regression).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from trainers.config import ModelConfig
from trainers.entrypoint import load_entrypoint_function
from trainers.errors import ConfigError

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


class Checkpointed(nn.Module):
    """Runs ``block`` under activation checkpointing while training.

    Activations inside the block are recomputed in backward instead of stored.
    """

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and torch.is_grad_enabled():
            out = checkpoint(self.block, x, use_reentrant=False)
            assert isinstance(out, torch.Tensor)
            return out
        result: torch.Tensor = self.block(x)
        return result


def _wrap(block: nn.Module, enabled: bool) -> nn.Module:
    return Checkpointed(block) if enabled else block


def _flat_size(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def linear_model(input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
    """Linear regression, or logistic/softmax regression when trained on logits."""
    return nn.Sequential(nn.Flatten(), nn.Linear(_flat_size(input_shape), num_outputs))


def mlp(cfg: ModelConfig, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
    """Fully connected layers: [Linear, (BatchNorm), activation, (Dropout)] per width."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = _flat_size(input_shape)
    for hidden in cfg.hidden:
        block: list[nn.Module] = [nn.Linear(width, hidden)]
        if cfg.batch_norm:
            block.append(nn.BatchNorm1d(hidden))
        block.append(_ACTIVATIONS[cfg.activation]())
        if cfg.dropout > 0:
            block.append(nn.Dropout(cfg.dropout))
        layers.append(_wrap(nn.Sequential(*block), cfg.gradient_checkpointing))
        width = hidden
    layers.append(nn.Linear(width, num_outputs))
    return nn.Sequential(*layers)


def _image_shape(input_shape: tuple[int, ...], kind: str) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ConfigError(
            f"model.kind={kind} needs image input (channels x height x width), "
            f"got feature shape {input_shape}",
            hint="use model.kind=mlp for tabular data",
        )
    c, h, w = input_shape
    return c, h, w


def cnn(cfg: ModelConfig, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
    """Conv3x3 blocks (one per width), 2x2 pooling while the image is larger than 1x1."""
    channels, h, w = _image_shape(input_shape, "cnn")
    layers: list[nn.Module] = []
    for width in cfg.hidden:
        block: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1)]
        if cfg.batch_norm:
            block.append(nn.BatchNorm2d(width))
        block.append(_ACTIVATIONS[cfg.activation]())
        if min(h, w) >= 2:
            block.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        layers.append(_wrap(nn.Sequential(*block), cfg.gradient_checkpointing))
        channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if cfg.dropout > 0:
        layers.append(nn.Dropout(cfg.dropout))
    layers.append(nn.Linear(channels, num_outputs))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """The two-conv residual block of ResNet-18/34."""

    def __init__(self, c_in: int, c_out: int, stride: int, act: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.act = act()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        result: torch.Tensor = self.act(out + self.shortcut(x))
        return result


def resnet(cfg: ModelConfig, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
    """A small ResNet: a stem, then ``args.blocks`` (default 2) blocks per width."""
    channels, h, w = _image_shape(input_shape, "resnet")
    blocks_per_stage = int(cfg.args.get("blocks", 2))
    act = _ACTIVATIONS[cfg.activation]
    width = cfg.hidden[0]
    layers: list[nn.Module] = [
        nn.Conv2d(channels, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        act(),
    ]
    for stage, out_width in enumerate(cfg.hidden):
        for i in range(blocks_per_stage):
            stride = 2 if stage > 0 and i == 0 and min(h, w) >= 2 else 1
            if stride == 2:
                h, w = (h + 1) // 2, (w + 1) // 2
            layers.append(
                _wrap(BasicBlock(width, out_width, stride, act), cfg.gradient_checkpointing)
            )
            width = out_width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if cfg.dropout > 0:
        layers.append(nn.Dropout(cfg.dropout))
    layers.append(nn.Linear(width, num_outputs))
    return nn.Sequential(*layers)


def custom_model(
    cfg: ModelConfig, input_shape: tuple[int, ...], num_outputs: int, code_dir: Path | None
) -> nn.Module:
    """``module:function`` from the code dir, called as f(input_shape, num_outputs, **args)."""
    assert cfg.entrypoint is not None
    factory = load_entrypoint_function("model.entrypoint", cfg.entrypoint, code_dir)
    model = factory(input_shape, num_outputs, **cfg.args)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model.entrypoint: {cfg.entrypoint} returned {type(model).__name__}")
    return model


def init_weights(model: nn.Module, scheme: str) -> None:
    """Re-initialise Linear/Conv weights (xavier or he); biases start at zero."""
    if scheme == "default":
        return
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            if scheme == "xavier":
                nn.init.xavier_uniform_(module.weight)
            else:
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def build_model(
    cfg: ModelConfig,
    input_shape: tuple[int, ...],
    num_outputs: int,
    code_dir: Path | None = None,
) -> nn.Module:
    """The configured model, initialised with the configured scheme."""
    if cfg.kind in ("linear", "logistic", "softmax"):
        model = linear_model(input_shape, num_outputs)
    elif cfg.kind == "mlp":
        model = mlp(cfg, input_shape, num_outputs)
    elif cfg.kind == "cnn":
        model = cnn(cfg, input_shape, num_outputs)
    elif cfg.kind == "resnet":
        model = resnet(cfg, input_shape, num_outputs)
    elif cfg.kind == "custom":
        model = custom_model(cfg, input_shape, num_outputs, code_dir)
    else:
        from trainers.hf import build_hf_model

        # Hub models come initialised (pretrained, or by their own config's scheme).
        return build_hf_model(cfg, num_outputs)
    init_weights(model, cfg.init)
    return model

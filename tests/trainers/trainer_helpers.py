"""Helpers shared by the trainer tests (a unique module name, imported by tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainers.loop import Trainer


def tiny(**overrides: Any) -> dict[str, Any]:
    """A TrainConfig dict that trains in well under a second."""
    cfg: dict[str, Any] = {
        "model": {"kind": "mlp", "hidden": [16]},
        "data": {
            "source": "synthetic_classification",
            "n_samples": 200,
            "n_features": 8,
            "noise": 0.0,
        },
        "optimizer": {"name": "adam", "lr": 0.01},
        "epochs": 2,
        "batch_size": 32,
        "log_every_steps": 2,
        "num_threads": 1,
        "device": "cpu",  # deterministic expectations; test_trainer_cuda.py covers GPUs
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "out" / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def read_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "out" / "summary.json").read_text())


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a ``python -m trainers`` child: this repo first on the path."""
    import os

    repo = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", **extra}


def make_trainer(tmp_path: Path, **overrides: object) -> Trainer:
    """A Trainer on a ``tiny`` config with its dirs under ``tmp_path``, not yet run (for
    tests that drive its steps by hand). Imported lazily: helpers load without torch."""
    from trainers.config import TrainConfig
    from trainers.context import Flags, detect_context
    from trainers.loop import Trainer
    from trainers.metrics import MetricsLogger
    from trainers.setup import build_setup
    from trainers.signals import StopFlag

    cfg = TrainConfig.model_validate(tiny(**overrides))
    flags = Flags(
        output_dir=str(tmp_path / "o"),
        model_dir=str(tmp_path / "m"),
        checkpoint_dir=str(tmp_path / "c"),
    )
    ctx = detect_context(flags, env={}, cwd=tmp_path)
    return Trainer(cfg, build_setup(cfg, ctx), MetricsLogger(tmp_path, False), StopFlag())

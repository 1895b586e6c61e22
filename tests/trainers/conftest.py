"""Fixtures for trainer tests: a clean environment and a one-call in-process run."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Variables that would make the trainer think it runs on a cloud or under torchrun.
_PLATFORM_PREFIXES = ("SM_", "AIP_", "AZUREML_", "CLOUD_ML_", "CLOUDGD_", "SAGEMAKER_")
_PLATFORM_NAMES = (
    "CLUSTER_SPEC",
    "TF_CONFIG",
    "TRAINING_JOB_NAME",
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "GROUP_RANK",
    "NODE_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
    "PJRT_DEVICE",
    "MLFLOW_TRACKING_URI",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith(_PLATFORM_PREFIXES) or key in _PLATFORM_NAMES:
            monkeypatch.delenv(key)
    monkeypatch.setenv("CLOUDGD_HOME", str(tmp_path / "cloudgd-home"))
    monkeypatch.chdir(tmp_path)


RunTrainer = Callable[..., tuple[int, Path]]


@pytest.fixture
def run_trainer(tmp_path: Path) -> RunTrainer:
    """Run ``python -m trainers`` in-process on a config dict; returns (exit code, run dir)."""
    from trainers.__main__ import main

    def _run(cfg: dict[str, Any], *args: str, name: str = "run") -> tuple[int, Path]:
        run_dir = tmp_path / name
        run_dir.mkdir(exist_ok=True)
        config = run_dir / "job.json"
        config.write_text(json.dumps(cfg))
        code = main(
            [
                "--config",
                str(config),
                "--model-dir",
                str(run_dir / "model"),
                "--output-dir",
                str(run_dir / "out"),
                "--checkpoint-dir",
                str(run_dir / "ckpt"),
                *args,
            ]
        )
        return code, run_dir

    return _run

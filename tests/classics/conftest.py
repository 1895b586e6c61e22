"""Fixtures for the classic-examples tests: an isolated home, no platform variables,
and the offline stand-ins the examples need (a tiny BERT, the digits as a CSV)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from classics_helpers import EXAMPLES, load_script

_PLATFORM_PREFIXES = ("SM_", "AIP_", "AZUREML_", "CLOUD_ML_", "CLOUDGD_", "SAGEMAKER_")
_PLATFORM_NAMES = ("CLUSTER_SPEC", "TF_CONFIG", "TRAINING_JOB_NAME", "RANK", "WORLD_SIZE",
                   "LOCAL_RANK", "GROUP_RANK", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT",
                   "PJRT_DEVICE", "MLFLOW_TRACKING_URI", "GITHUB_SHA")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key == "CLOUDGD_UPDATE_GOLDEN":
            continue
        if key.startswith(_PLATFORM_PREFIXES) or key in _PLATFORM_NAMES:
            monkeypatch.delenv(key)
    monkeypatch.setenv("CLOUDGD_HOME", str(tmp_path / "cloudgd-home"))
    # Nothing in these tests may reach the Hugging Face Hub.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT config + WordPiece tokenizer trained on the bundled reviews."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    maker = load_script("make_tiny_bert")
    out = tmp_path_factory.mktemp("tiny-bert")
    return Path(maker.build(out, maker.texts(EXAMPLES / "data" / "reviews.csv")))


@pytest.fixture(scope="session")
def digits_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("digits") / "digits.csv"
    load_script("make_digits_csv").write(path)
    return path

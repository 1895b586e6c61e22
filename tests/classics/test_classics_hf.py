"""The trainer's Hugging Face path: text_csv tokenised once, a sequence classifier by
name, fine-tuned for a few steps on the bundled reviews with the loss falling.

The model is a tiny BERT built from a config with random weights: nothing downloads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from classics_helpers import EXAMPLES, load_script
from pydantic import ValidationError

from cloudgd.bundle import build_bundle
from trainers.config import DataConfig, ModelConfig, TrainConfig
from trainers.errors import ConfigError

REVIEWS = EXAMPLES / "data" / "reviews.csv"


def bert_config(tiny_bert: Path, **overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "model": {"kind": "huggingface", "name": str(tiny_bert), "args": {"pretrained": False}},
        "data": {"source": "text_csv", "uri": str(REVIEWS), "max_length": 32},
        "optimizer": {"name": "adamw", "lr": 3e-3, "weight_decay": 0.01},
        "schedule": {"name": "linear", "warmup_steps": 5},
        "epochs": 3,
        "batch_size": 8,
        "grad_accum_steps": 2,
        "clip_grad_norm": 1.0,
        "precision": "bf16",
        "log_every_steps": 5,
        "num_threads": 1,
    }
    cfg.update(overrides)
    return cfg


def run_trainer(cfg: dict[str, Any], run_dir: Path) -> int:
    from trainers.__main__ import main

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "job.json").write_text(json.dumps(cfg))
    dirs = {"--model-dir": "model", "--output-dir": "out", "--checkpoint-dir": "ckpt"}
    args = [part for flag, sub in dirs.items() for part in (flag, str(run_dir / sub))]
    return main(["--config", str(run_dir / "job.json"), *args])


def test_the_bundled_reviews_regenerate_byte_for_byte(tmp_path: Path) -> None:
    load_script("make_reviews").write(tmp_path / "reviews.csv")
    assert (tmp_path / "reviews.csv").read_bytes() == REVIEWS.read_bytes()
    lines = REVIEWS.read_text().splitlines()
    assert lines[0] == "text,label" and len(lines) == 401
    assert sum(line.endswith(",positive") for line in lines) == 200


def test_text_csv_becomes_token_ids_and_mask_split_like_every_source(tiny_bert: Path) -> None:
    from trainers.hf import load_text_dataset

    data = DataConfig(source="text_csv", uri=str(REVIEWS), max_length=32, val_fraction=0.25)
    model = ModelConfig(kind="huggingface", name=str(tiny_bert))
    ds = load_text_dataset(data, model, seed=0)
    assert (ds.n_train, ds.n_val) == (300, 100)
    assert ds.classes == ["negative", "positive"] and ds.task == "classification"
    assert ds.x_train.dtype.is_floating_point is False
    assert ds.input_shape[0] == 2 and ds.input_shape[1] <= 32  # ids and mask, padded
    ids, mask = ds.x_train[:, 0], ds.x_train[:, 1]
    assert bool(((mask == 0) <= (ids == 0)).all())  # masked positions hold [PAD] (id 0)
    assert bool((ids[:, 0] == 2).all())  # every row starts with [CLS]
    again = load_text_dataset(data, model, seed=0)
    assert bool((again.x_val == ds.x_val).all())  # the split is seeded


@pytest.mark.slow
def test_fine_tuning_a_tiny_bert_lowers_the_loss(tiny_bert: Path, tmp_path: Path) -> None:
    assert run_trainer(bert_config(tiny_bert), tmp_path / "run") == 0
    lines = (tmp_path / "run" / "out" / "metrics.jsonl").read_text().splitlines()
    epochs = [m for m in map(json.loads, lines) if m.get("kind") == "epoch" or "val_loss" in m]
    assert epochs[-1]["val_loss"] < 0.8 * epochs[0]["val_loss"]
    assert epochs[-1]["val_accuracy"] >= 0.8
    summary = json.loads((tmp_path / "run" / "out" / "summary.json").read_text())
    assert summary["global_batch"] == 16 and summary["bad_steps"] == 0
    # The fine-tuned model also lands in Hugging Face's own layout.
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    hf_dir = tmp_path / "run" / "model" / "hf"
    reloaded = AutoModelForSequenceClassification.from_pretrained(hf_dir)
    assert reloaded.config.num_labels == 2
    assert AutoTokenizer.from_pretrained(hf_dir)("great kettle")["input_ids"][0] == 2


def test_huggingface_and_text_csv_only_come_together() -> None:
    with pytest.raises(ValidationError, match="go together"):
        TrainConfig.model_validate(
            {
                "model": {"kind": "huggingface", "name": "bert-base-uncased"},
                "data": {"source": "digits"},
            }
        )
    with pytest.raises(ValidationError, match="go together"):
        TrainConfig.model_validate({"data": {"source": "text_csv", "uri": "x.csv"}})


def test_unknown_model_args_and_missing_models_are_config_errors(tiny_bert: Path) -> None:
    from trainers.hf import build_hf_model

    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['pretrained_weights'\]"):
        build_hf_model(ModelConfig(kind="huggingface", name=str(tiny_bert),
                                   args={"pretrained_weights": False}), 2)  # fmt: skip
    with pytest.raises(ConfigError, match=r"model\.name: cannot load a tokenizer"):
        build_hf_model(ModelConfig(kind="huggingface", name=str(tiny_bert / "missing")), 2)


def test_config_overrides_reach_the_model(tiny_bert: Path) -> None:
    from trainers.hf import SequenceClassifier, build_hf_model

    model = build_hf_model(
        ModelConfig(kind="huggingface", name=str(tiny_bert),
                    args={"pretrained": False, "config": {"num_hidden_layers": 1}}),
        3,
    )  # fmt: skip
    assert isinstance(model, SequenceClassifier)
    assert model.model.config.num_hidden_layers == 1 and model.model.config.num_labels == 3


def test_hf_jobs_ship_transformers_as_a_requirement(tmp_path: Path) -> None:
    import tarfile

    hf = json.dumps({"model": {"kind": "huggingface", "name": "bert-base-uncased"}})
    plain = json.dumps({"model": {"kind": "mlp"}})
    with tarfile.open(build_bundle(hf, None, tmp_path, "tar.gz").path) as tar:
        assert tar.extractfile("requirements.txt").read() == b"transformers>=4.40\n"  # type: ignore[union-attr]
    with tarfile.open(build_bundle(plain, None, tmp_path, "tar.gz").path) as tar:
        assert "requirements.txt" not in tar.getnames()
    with tarfile.open(build_bundle(hf, None, tmp_path, "sdist").path) as tar:
        setup = tar.extractfile("cloudgd_job-0.1.0/setup.py").read().decode()  # type: ignore[union-attr]
    assert "'transformers>=4.40'" in setup

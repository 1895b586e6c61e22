"""Values the loader used to accept although they mean nothing, or crash the trainer later.

Each is refused at validate time with one line naming the field, exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudgd.errors import SpecError
from cloudgd.loader import load_spec
from cloudgd.safe_yaml import parse_yaml
from trainers.config import REPORTED_METRICS, TrainConfig


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "job.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.exit_code == 2
    return [line.removeprefix(f"{tmp_path}/") for line in caught.value.lines()]


REFUSED = {
    "bool as a count": (
        "trainer: {epochs: true}",
        "job.yaml: trainer.epochs: expected a number, not true",
    ),
    "bool as a float": (
        "trainer: {optimizer: {lr: false}}",
        "job.yaml: trainer.optimizer.lr: expected a number, not false",
    ),
    "bool in a list of widths": (
        "trainer: {model: {hidden: [64, true]}}",
        "job.yaml: trainer.model.hidden: expected a number, not [64, true]",
    ),
    "bool as nodes": ("resources: {nodes: true}", "job.yaml: resources.nodes: expected a number"),
    "YAML 1.1 base-60 epochs": (
        "trainer: {epochs: 1:30}",
        "job.yaml: trainer.epochs: must be a whole number (got '1:30')",
    ),
    "YAML 1.1 base-60 runtime": (
        "limits: {max_runtime: 1:30}",
        "job.yaml: limits.max_runtime: expected a duration like 90s",
    ),
    "negative milestone": (
        "trainer: {schedule: {name: multistep, milestones: [5, -1]}}",
        "job.yaml: trainer.schedule.milestones[1]: must be >= 0 (got -1)",
    ),
    "zero runtime cap": (
        "limits: {max_runtime: 0s}",
        "job.yaml: limits.max_runtime: must be > 0 (got 0)",
    ),
    "runtime cap under a second": (
        "limits: {max_runtime: 0.5s}",
        "job.yaml: limits.max_runtime: must be > 0",
    ),
    "zero expected runtime": (
        "limits: {expected_runtime: 0}",
        "job.yaml: limits.expected_runtime: must be > 0",
    ),
    "image with a newline": (
        'image: "123.dkr.ecr.us-east-1.amazonaws.com/train:1\\nrm -rf /"',
        "job.yaml: image: must be 'prebuilt' or an image URI: printable characters, no spaces "
        "or line breaks",
    ),
    "image with a control character": (
        'image: "repo/train:1\\x1b[2J"',
        "job.yaml: image: must be 'prebuilt' or an image URI",
    ),
    "env value with a NUL byte": (
        'env: {PGHOST: "db\\0.internal"}',
        "job.yaml: env: 'PGHOST' contains a NUL byte",
    ),
    "env name that is not a variable name": (
        'env: {"A=B": x}',
        "job.yaml: env: 'A=B' is not a valid environment variable name",
    ),
    "data uri with a NUL byte": (
        'trainer: {data: {source: csv, uri: "a\\0.csv"}}',
        "job.yaml: trainer.data.uri: contains a NUL byte",
    ),
    "region with a line break": (
        'resources: {region: "us-east-1\\nevil"}',
        "job.yaml: resources.region: printable characters without spaces or line breaks",
    ),
    "instance type with a space": (
        'resources: {instance_type: "ml.g5.xlarge --x"}',
        "job.yaml: resources.instance_type: printable characters without spaces",
    ),
    "data uri with a line break": (
        'trainer: {data: {source: csv, uri: "train.csv\\n"}}',
        "job.yaml: trainer.data: data.uri contains a control character",
    ),
    "checkpoint uri with an escape": (
        'checkpoints: {uri: "s3://b/\\x1b[2J"}',
        "job.yaml: checkpoints.uri: contains a control character",
    ),
    "code dir with a line break": (
        'code: "./code\\n"',
        "job.yaml: code: contains a control character",
    ),
    "entrypoint that is not module:function": (
        "code: ./c\ntrainer: {model: {kind: custom, entrypoint: 'os.system(1):x'}}",
        "job.yaml: trainer.model: model.entrypoint must look like 'module:function'",
    ),
    "misspelt early-stopping metric": (
        "trainer: {early_stopping: {metric: val_acc}}",
        "job.yaml: trainer.early_stopping.metric: 'val_acc' is not a metric the trainer "
        "reports; use one of loss, val_loss, val_accuracy, val_mse, val_r2",
    ),
    "regression metric on a classification job": (
        "trainer: {data: {source: digits}, early_stopping: {metric: val_r2}}",
        "job.yaml: trainer: early_stopping.metric: a classification job does not report "
        "'val_r2'; use one of loss, val_loss, val_accuracy",
    ),
    "accuracy on a regression job": (
        "trainer: {data: {source: synthetic_regression}, early_stopping: {metric: val_accuracy}}",
        "job.yaml: trainer: early_stopping.metric: a regression job does not report "
        "'val_accuracy'; use one of loss, val_loss, val_mse, val_r2",
    ),
    "seed past 32 bits": (
        "trainer: {seed: 4294967296}",
        "job.yaml: trainer.seed: must be <= 4294967295 (got 4294967296)",
    ),
    "negative seed": ("trainer: {seed: -1}", "job.yaml: trainer.seed: must be >= 0 (got -1)"),
    "beta of 1": (
        "trainer: {optimizer: {betas: [1.0, 0.999]}}",
        "job.yaml: trainer.optimizer.betas: each beta must be in [0, 1) (got [1.0, 0.999])",
    ),
    "negative beta": (
        "trainer: {optimizer: {betas: [0.9, -0.1]}}",
        "job.yaml: trainer.optimizer.betas: each beta must be in [0, 1)",
    ),
    "zero eps": ("trainer: {optimizer: {eps: 0}}", "job.yaml: trainer.optimizer.eps: must be > 0"),
    "huge n_samples": (
        "trainer: {data: {source: synthetic_regression, n_samples: 1000000000000}}",
        "job.yaml: trainer.data.n_samples: must be <= 10000000",
    ),
    "synthetic data too big in all": (
        "trainer: {data: {source: synthetic_regression, n_samples: 10000000, n_features: 100}}",
        "job.yaml: trainer.data: data.n_samples x data.n_features = 1000000000, more than "
        "100000000 values",
    ),
    "too few features for the classes": (
        "trainer: {data: {source: synthetic_classification, n_features: 2, n_classes: 100}}",
        "job.yaml: trainer.data: data.n_features=2 is too few for n_classes=100: use "
        "n_features >= 7",
    ),
    "huge hidden width": (
        "trainer: {model: {hidden: [1000000000]}}",
        "job.yaml: trainer.model.hidden[0]: must be <= 16384 (got 1000000000)",
    ),
    "too many hidden weights": (
        "trainer: {model: {hidden: [16384, 16384, 16384]}}",
        "job.yaml: trainer.model: model.hidden: 536870912 weights between hidden layers",
    ),
    "huge num_threads": (
        "trainer: {num_threads: 100000000}",
        "job.yaml: trainer.num_threads: must be <= 1024",
    ),
    "huge batch size": (
        "trainer: {batch_size: 10000000000000}",
        "job.yaml: trainer.batch_size: must be <= 2147483647",
    ),
    "growing 'decay'": (
        "trainer: {schedule: {name: exponential, gamma: 1e308}}",
        "job.yaml: trainer.schedule.gamma: must be <= 1",
    ),
    "streaming statistics for data loaded into memory": (
        "trainer: {data: {source: parquet, uri: s3://b/d/, stats: {mean: [0], std: [1]}}}",
        "job.yaml: trainer.data: data.stats: only a streamed source uses them, and this one is "
        "loaded into memory (data.mode resolves to download): set data.mode: stream",
    ),
    "budget of 1e308": (
        "limits: {max_cost_usd: 1e308}",
        "job.yaml: limits.max_cost_usd: must be <= 10000000 (got 1e+308)",
    ),
}


@pytest.mark.parametrize("body, expected", list(REFUSED.values()), ids=list(REFUSED))
def test_meaningless_values_are_refused_with_the_field(
    tmp_path: Path, body: str, expected: str
) -> None:
    lines = problems_of(tmp_path, f"name: a-job\n{body}\n")
    assert any(line.startswith(expected) for line in lines), lines


def test_yaml_11_only_numbers_stay_text() -> None:
    # YAML 1.2 (what editors check against) has no base-60 or 0-prefixed octal numbers.
    document = parse_yaml("a: 1:30\nb: 010\nc: 190:20:30.5\nd: 10\ne: 0x1F\n")
    assert document == {"a": "1:30", "b": "010", "c": "190:20:30.5", "d": 10, "e": 31}


def test_text_fields_keep_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("name: a-job\nenv: {START: 1:30, ZIP: 01234}\ntrainer: {epochs: 010}\n")
    spec = load_spec(path).spec
    assert spec.env == {"START": "1:30", "ZIP": "01234"}
    assert spec.trainer.epochs == 10


def test_every_reported_metric_can_be_watched() -> None:
    for metric in REPORTED_METRICS:
        task = "classification" if metric == "val_accuracy" else "regression"
        if metric in ("loss", "val_loss"):
            task = "auto"
        config = TrainConfig.model_validate(
            {
                "data": {"source": "csv", "uri": "train.csv", "task": task},
                "early_stopping": {"metric": metric},
            }
        )
        assert config.early_stopping is not None
        assert config.early_stopping.metric == metric


def test_bounds_themselves_are_accepted() -> None:
    config = TrainConfig.model_validate(
        {
            "seed": 2**32 - 1,
            "num_threads": 1024,
            "optimizer": {"betas": [0.0, 0.999999]},
            "model": {"hidden": [16384, 16384]},
            "data": {
                "source": "synthetic_classification",
                "n_samples": 10_000_000,
                "n_features": 10,
                "n_classes": 1024,
            },
            "schedule": {"name": "multistep", "milestones": [0, 2**31 - 1]},
        }
    )
    assert config.seed == 2**32 - 1

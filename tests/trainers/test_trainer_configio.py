"""Finding the config, unwrapping job specs, and --set / hyperparameter overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainers.configio import (
    apply_overrides,
    build_config,
    find_config_file,
    hyperparameter_overrides,
    load_train_config,
    parse_set_args,
    read_config_dict,
)
from trainers.errors import ConfigError


def test_whole_job_spec_yaml_uses_its_trainer_block(tmp_path: Path) -> None:
    spec = tmp_path / "job.yaml"
    spec.write_text(
        "name: demo\ntrainer:\n  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\n"
        "  epochs: 3\nresources: {accelerator: none}\n"
    )
    cfg, path = load_train_config(str(spec), env={})
    assert path == spec
    assert (cfg.optimizer.name, cfg.optimizer.lr, cfg.epochs) == ("sgd", 0.1, 3)


def test_search_order_env_then_working_dir(tmp_path: Path) -> None:
    local = tmp_path / "cloudgd-job.json"
    local.write_text(json.dumps({"epochs": 2}))
    assert find_config_file(None, {}) == local  # conftest chdirs into tmp_path
    other = tmp_path / "other.json"
    other.write_text("{}")
    assert find_config_file(None, {"CLOUDGD_CONFIG": str(other)}) == other
    with pytest.raises(ConfigError, match="--config: file not found"):
        find_config_file(str(tmp_path / "missing.yaml"), {})


def test_set_overrides_parse_json_values_and_nested_paths() -> None:
    pairs = parse_set_args(
        ["trainer.optimizer.lr=0.05", "model.hidden=[8,4]", "data.source=digits"]
    )
    raw = apply_overrides({"optimizer": {"name": "sgd"}}, pairs)
    assert raw == {
        "optimizer": {"name": "sgd", "lr": 0.05},
        "model": {"hidden": [8, 4]},
        "data": {"source": "digits"},
    }


def test_override_into_an_absent_optional_block() -> None:
    raw = apply_overrides({}, [("early_stopping.patience", 2)])
    assert raw == {"early_stopping": {"patience": 2}}


def test_unknown_override_path_names_the_field() -> None:
    with pytest.raises(ConfigError, match="unknown field 'lrr' in optimizer") as err:
        apply_overrides({}, [("optimizer.lrr", 1)])
    assert err.value.exit_code == 2
    with pytest.raises(ConfigError, match="no sub-fields"):
        apply_overrides({}, [("epochs.x", 1)])
    with pytest.raises(ConfigError, match="expected path=value"):
        parse_set_args(["optimizer.lr"])


def test_free_form_args_accept_any_key() -> None:
    assert apply_overrides({}, [("model.args.depth", 3)]) == {"model": {"args": {"depth": 3}}}


def test_sagemaker_hyperparameters_are_json_strings() -> None:
    hps = {
        "optimizer.lr": "0.02",
        "epochs": "4",
        "model.hidden": "[32, 16]",
        "sagemaker_program": "cloudgd_entry.py",
        "_tuning_objective_metric": "val_loss",
        "unrelated-flag": "x",
    }
    assert hyperparameter_overrides(hps) == [
        ("epochs", 4),
        ("model.hidden", [32, 16]),
        ("optimizer.lr", 0.02),
    ]


def test_precedence_file_then_hyperparameters_then_set(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"optimizer": {"lr": 0.1}, "epochs": 9}))
    cfg, _ = load_train_config(
        str(path),
        env={},
        sets=["optimizer.lr=0.3"],
        hyperparameters={"optimizer.lr": "0.2", "epochs": "5"},
    )
    assert (cfg.optimizer.lr, cfg.epochs) == (0.3, 5)


def test_invalid_values_name_the_field_and_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"optimizer": {"lr": -1}}))
    with pytest.raises(ConfigError, match=r"c\.json: optimizer\.lr"):
        load_train_config(str(path), env={})
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_train_config(str(path), env={})


def test_yaml_configs_read_numbers_as_yaml_12_does(tmp_path: Path) -> None:
    # YAML 1.1 would read 1:30 as 90 epochs; cloudgd's loader and the trainer both refuse it.
    job = tmp_path / "job.yaml"
    job.write_text("trainer:\n  epochs: 1:30\n  seed: 010\n")
    raw = read_config_dict(job)
    assert raw == {"epochs": "1:30", "seed": "010"}
    with pytest.raises(ConfigError, match="epochs"):
        build_config(raw, str(job))

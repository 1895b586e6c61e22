"""Context detection: each platform's environment becomes the right RunContext."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainers.context import Flags, detect_context, gcs_to_local
from trainers.errors import ConfigError

NO_OPT_ML = Path("/nonexistent/opt/ml")


def detect(env: dict[str, str], tmp_path: Path, flags: Flags | None = None):
    return detect_context(flags, env=env, cwd=tmp_path, opt_ml=NO_OPT_ML)


def test_plain_local_run_writes_under_outputs(tmp_path: Path) -> None:
    ctx = detect({}, tmp_path)
    assert ctx.platform == "local"
    assert ctx.output_dir == tmp_path / "outputs"
    assert ctx.model_dir == tmp_path / "outputs" / "model"
    assert ctx.checkpoint_dir == tmp_path / "outputs" / "checkpoints"
    assert (ctx.rank, ctx.world_size, ctx.is_main, ctx.distributed) == (0, 1, True, False)
    assert ctx.tensorboard_dir is None and ctx.hp_metric_file is None


def test_sagemaker_toolkit_environment(tmp_path: Path) -> None:
    env = {
        "SM_MODEL_DIR": "/opt/ml/model",
        "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data",
        "SM_CHANNEL_TRAINING": "/opt/ml/input/data/training",
        "SM_CHANNEL_VALIDATION": "/opt/ml/input/data/validation",
        "SM_HOSTS": '["algo-1"]',
        "SM_CURRENT_HOST": "algo-1",
        "SM_HPS": '{"optimizer.lr": 0.5}',
        "TRAINING_JOB_NAME": "job-1",
    }
    ctx = detect_context(None, env=env, cwd=tmp_path, opt_ml=Path("/opt/ml"))
    assert ctx.platform == "sagemaker"
    assert ctx.model_dir == Path("/opt/ml/model")
    assert ctx.output_dir == Path("/opt/ml/output/data")
    assert ctx.checkpoint_dir == Path("/opt/ml/checkpoints")
    assert ctx.data_dir == Path("/opt/ml/input/data/training")
    assert ctx.data_dirs["validation"] == Path("/opt/ml/input/data/validation")
    assert ctx.failure_file == Path("/opt/ml/output/failure")
    assert ctx.tensorboard_dir == Path("/opt/ml/output/tensorboard")
    assert ctx.hyperparameters == {"optimizer.lr": 0.5}
    assert ctx.world_size == 1 and ctx.job_id == "job-1"


def test_sagemaker_base_dir_files_without_toolkit_variables(tmp_path: Path) -> None:
    base = tmp_path / "opt" / "ml"
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "data" / "train").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"optimizer.lr": "0.25", "sagemaker_program": "cloudgd_entry.py"})
    )
    (base / "input" / "config" / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-2", "hosts": ["algo-2", "algo-1", "algo-3"]})
    )
    ctx = detect({"SAGEMAKER_BASE_DIR": str(base)}, tmp_path)
    assert ctx.platform == "sagemaker"
    assert ctx.model_dir == base / "model"
    assert ctx.checkpoint_dir == base / "checkpoints"
    assert ctx.data_dir == base / "input" / "data" / "train"
    assert ctx.hyperparameters["optimizer.lr"] == "0.25"
    # hosts are sorted: algo-1, algo-2, algo-3 -> this host is node 1 of 3, master algo-1:7777
    assert (ctx.rank, ctx.world_size, ctx.node_rank) == (1, 3, 1)
    assert (ctx.master_addr, ctx.master_port) == ("algo-1", 7777)


def test_sagemaker_rank_from_host_list(tmp_path: Path) -> None:
    env = {"SM_HOSTS": '["algo-2","algo-1"]', "SM_CURRENT_HOST": "algo-2"}
    ctx = detect(env, tmp_path)
    assert (ctx.rank, ctx.world_size, ctx.master_addr) == (1, 2, "algo-1")


def test_torchrun_variables_win_over_derived_ranks(tmp_path: Path) -> None:
    env = {
        "SM_HOSTS": '["algo-1","algo-2"]',
        "SM_CURRENT_HOST": "algo-2",
        "RANK": "5",
        "LOCAL_RANK": "1",
        "WORLD_SIZE": "8",
        "GROUP_RANK": "1",
        "MASTER_ADDR": "algo-1",
        "MASTER_PORT": "7777",
    }
    ctx = detect(env, tmp_path)
    assert (ctx.rank, ctx.local_rank, ctx.world_size, ctx.node_rank) == (5, 1, 8, 1)


def test_vertex_maps_gcs_uris_to_the_fuse_mount(tmp_path: Path) -> None:
    env = {
        "CLOUD_ML_JOB_ID": "123",
        "AIP_MODEL_DIR": "gs://bkt/job1/model/",
        "AIP_CHECKPOINT_DIR": "gs://bkt/job1/checkpoints/",
        "AIP_TENSORBOARD_LOG_DIR": "gs://bkt/job1/logs/",
        "AIP_TRAINING_DATA_URI": "gs://bkt/data/train.csv",
    }
    ctx = detect(env, tmp_path)
    assert ctx.platform == "vertex"
    assert ctx.model_dir == Path("/gcs/bkt/job1/model")
    assert ctx.output_dir == Path("/gcs/bkt/job1/output")
    assert ctx.checkpoint_dir == Path("/gcs/bkt/job1/checkpoints")
    assert ctx.tensorboard_dir == Path("/gcs/bkt/job1/logs")
    assert ctx.data_dir == Path("/gcs/bkt/data/train.csv")
    assert ctx.job_id == "123"


def test_vertex_cluster_spec_worker_rank(tmp_path: Path) -> None:
    spec = {
        "cluster": {
            "workerpool0": ["cmle-wp0-0:2222"],
            "workerpool1": ["cmle-wp1-0:2222", "cmle-wp1-1:2222"],
            "workerpool2": ["cmle-reduction-0:2222"],
        },
        "environment": "cloud",
        "task": {"type": "workerpool1", "index": 1, "trial": ""},
    }
    ctx = detect({"CLUSTER_SPEC": json.dumps(spec)}, tmp_path)
    # the reduction server (workerpool2) is not a trainer
    assert (ctx.rank, ctx.world_size, ctx.node_rank) == (2, 3, 2)
    assert (ctx.master_addr, ctx.master_port) == ("cmle-wp0-0", 2222)


def test_vertex_hyperparameter_tuning_trial(tmp_path: Path) -> None:
    env = {
        "CLOUD_ML_JOB_ID": "1",
        "CLOUD_ML_TRIAL_ID": "7",
        "CLOUD_ML_HP_METRIC_FILE": str(tmp_path / "hp" / "output.metrics"),
    }
    ctx = detect(env, tmp_path)
    assert ctx.hp_metric_file == tmp_path / "hp" / "output.metrics"
    assert ctx.trial_id == "7"
    default = detect({"CLOUD_ML_JOB_ID": "1", "CLOUD_ML_TRIAL_ID": "7"}, tmp_path)
    assert default.hp_metric_file == Path("/tmp/hypertune/output.metrics")


def test_azureml_distribution_environment(tmp_path: Path) -> None:
    env = {
        "AZUREML_RUN_ID": "run-1",
        "RANK": "3",
        "LOCAL_RANK": "1",
        "NODE_RANK": "1",
        "WORLD_SIZE": "4",
        "MASTER_ADDR": "10.0.0.4",
        "MASTER_PORT": "6105",
    }
    ctx = detect(env, tmp_path)
    assert ctx.platform == "azureml"
    assert ctx.output_dir == tmp_path / "outputs"
    assert ctx.tensorboard_dir == tmp_path / "logs" / "tensorboard"
    assert (ctx.rank, ctx.local_rank, ctx.node_rank, ctx.world_size) == (3, 1, 1, 4)
    assert (ctx.master_addr, ctx.master_port) == ("10.0.0.4", 6105)
    assert not ctx.is_main


def test_plain_torchrun(tmp_path: Path) -> None:
    env = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_PORT": "29501"}
    ctx = detect(env, tmp_path)
    assert ctx.platform == "torchrun"
    assert (ctx.rank, ctx.world_size, ctx.master_port) == (1, 2, 29501)


def test_flags_win_over_environment_variables_and_platform(tmp_path: Path) -> None:
    env = {
        "SM_MODEL_DIR": "/opt/ml/model",
        "CLOUDGD_MODEL_DIR": "/env/model",
        "CLOUDGD_CHECKPOINT_DIR": "/env/ckpt",
    }
    ctx = detect(env, tmp_path, Flags(model_dir="/flag/model", data_dir="gs://b/data"))
    assert ctx.model_dir == Path("/flag/model")
    assert ctx.checkpoint_dir == Path("/env/ckpt")
    assert ctx.data_dir == Path("/gcs/b/data")


def test_bad_rank_variables_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        detect({"RANK": "0", "WORLD_SIZE": "two"}, tmp_path)
    with pytest.raises(ConfigError, match="outside world size"):
        detect({"RANK": "2", "WORLD_SIZE": "2"}, tmp_path)
    with pytest.raises(ConfigError, match="SM_CURRENT_HOST"):
        detect({"SM_HOSTS": '["a","b"]', "SM_CURRENT_HOST": "c"}, tmp_path)


def test_gcs_mapping_leaves_other_paths_alone() -> None:
    assert gcs_to_local("gs://b/x/y.csv") == "/gcs/b/x/y.csv"
    assert gcs_to_local("/data/x.csv") == "/data/x.csv"


def test_each_tuning_trial_checkpoints_in_a_folder_of_its_own(tmp_path: Path) -> None:
    """Trials of one study share the request's checkpoint location; each keeps its own
    subfolder, named so that a restarted (spot, preempted) trial finds its checkpoints."""
    base = tmp_path / "opt" / "ml"
    (base / "input" / "config").mkdir(parents=True)
    hps = base / "input" / "config" / "hyperparameters.json"
    hps.write_text(json.dumps({"optimizer.lr": "0.1", "_tuning_objective_metric": "val_loss"}))
    sagemaker = detect_context(
        None, env={"TRAINING_JOB_NAME": "digits-0a1b-003-9f8e"}, cwd=tmp_path, opt_ml=base
    )
    assert sagemaker.checkpoint_dir == base / "checkpoints" / "trial-digits-0a1b-003-9f8e"
    hps.write_text(json.dumps({"optimizer.lr": "0.1"}))  # a single job: no subfolder
    assert detect_context(None, env={}, cwd=tmp_path, opt_ml=base).checkpoint_dir == (
        base / "checkpoints"
    )

    flags = Flags(checkpoint_dir="gs://bkt/ckpt")  # Vertex: one --checkpoint-dir for all
    vertex = detect({"CLOUD_ML_JOB_ID": "1", "CLOUD_ML_TRIAL_ID": "7"}, tmp_path, flags)
    assert vertex.checkpoint_dir == Path("/gcs/bkt/ckpt/trial-7")

    azure = {"AZUREML_RUN_ID": "digits-0a1b_3", "CLOUDGD_SWEEP_TRIAL": "1"}
    flags = Flags(checkpoint_dir=str(tmp_path / "mnt" / "checkpoints"))
    assert detect(azure, tmp_path, flags).checkpoint_dir == (
        tmp_path / "mnt" / "checkpoints" / "trial-digits-0a1b_3"
    )
    single = {"AZUREML_RUN_ID": "digits-0a1b"}
    assert detect(single, tmp_path, flags).checkpoint_dir == tmp_path / "mnt" / "checkpoints"


def test_a_sagemaker_trial_without_a_job_name_is_named_by_its_values(tmp_path: Path) -> None:
    base = tmp_path / "opt" / "ml"
    (base / "input" / "config").mkdir(parents=True)
    hps = base / "input" / "config" / "hyperparameters.json"
    names = set()
    for lr in ("0.1", "0.1", "0.01"):
        hps.write_text(json.dumps({"optimizer.lr": lr, "_tuning_objective_metric": "val_loss"}))
        names.add(detect_context(None, env={}, cwd=tmp_path, opt_ml=base).checkpoint_dir.name)
    assert len(names) == 2 and all(n.startswith("trial-") for n in names)

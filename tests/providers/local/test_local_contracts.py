"""Each cloud's container contract as the local provider lays it out (pure functions)."""

from __future__ import annotations

import json

import pytest

from providers.local.contracts import (
    CPU_COUNT,
    MASTER_PORT,
    PYTHON,
    ContractInputs,
    layout,
    rank_env,
)
from providers.local.contracts_vertex_azure import cluster_spec, vertex_job_id

RUN = "/runs/digits-1a2b3c4d"
HASH = "1a2b3c4d" + "0" * 56


def inputs(**changes: object) -> ContractInputs:
    base: dict[str, object] = {
        "run_dir": RUN,
        "job_name": "digits-1a2b3c4d",
        "job_hash": HASH,
        "nodes": 1,
        "processes_per_node": 1,
        "gpus_per_node": 0,
        "has_data": False,
    }
    return ContractInputs.model_validate({**base, **changes})


def resolve(text: str, port: int = 29500, cpus: int = 4) -> str:
    return text.replace(MASTER_PORT, str(port)).replace(CPU_COUNT, str(cpus))


# -- SageMaker ----------------------------------------------------------------------------


def test_sagemaker_single_host_has_the_opt_ml_tree_under_the_run() -> None:
    lay = layout("aws", inputs(has_data=True, content_type="text/csv"))
    base = f"{RUN}/opt/ml"
    for sub in ("input/config", "input/data/train", "model", "output/data", "checkpoints", "code"):
        assert f"{base}/{sub}" in lay.dirs
    assert lay.code_dirs == [f"{base}/code"]
    assert lay.data_dirs == [f"{base}/input/data/train"]
    assert lay.artifacts["failure_file"] == f"{base}/output/failure"
    node = lay.nodes[0]
    assert node.argv == [PYTHON, "cloudgd_entry.py"]
    assert node.cwd == f"{base}/code"


def test_sagemaker_hyperparameters_are_json_encoded_strings() -> None:
    lay = layout("aws", inputs())
    hps = json.loads(lay.files[f"{RUN}/opt/ml/input/config/hyperparameters.json"])
    assert all(isinstance(v, str) for v in hps.values())
    assert json.loads(hps["sagemaker_program"]) == "cloudgd_entry.py"
    assert json.loads(hps["sagemaker_container_log_level"]) == 20
    assert "sagemaker_torch_distributed_enabled" not in hps


def test_sagemaker_env_names_every_directory_and_channel() -> None:
    env = layout("aws", inputs(has_data=True)).nodes[0].env
    base = f"{RUN}/opt/ml"
    assert env["SAGEMAKER_BASE_DIR"] == base
    assert env["SM_MODEL_DIR"] == f"{base}/model"
    assert env["SM_OUTPUT_DATA_DIR"] == f"{base}/output/data"
    assert env["SM_INPUT_CONFIG_DIR"] == f"{base}/input/config"
    assert env["SM_CHANNELS"] == '["train"]'
    assert env["SM_CHANNEL_TRAIN"] == f"{base}/input/data/train"
    assert env["SM_HOSTS"] == '["algo-1"]'
    assert env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_NUM_GPUS"] == "0"
    assert env["SM_NUM_CPUS"] == CPU_COUNT
    assert env["SM_HPS"] == "{}"
    assert env["TRAINING_JOB_NAME"] == "digits-1a2b3c4d"


def test_sagemaker_training_env_is_json_once_the_cpu_count_is_known() -> None:
    env = layout("aws", inputs(has_data=True)).nodes[0].env
    training = json.loads(resolve(env["SM_TRAINING_ENV"], cpus=8))
    assert training["num_cpus"] == 8
    assert training["channel_input_dirs"] == {"train": f"{RUN}/opt/ml/input/data/train"}
    assert training["hosts"] == ["algo-1"]
    assert training["is_master"] is True
    assert training["resource_config"]["current_host"] == "algo-1"


def test_sagemaker_without_data_has_no_channels() -> None:
    lay = layout("aws", inputs())
    env = lay.nodes[0].env
    assert env["SM_CHANNELS"] == "[]"
    assert not any(k.startswith("SM_CHANNEL_") for k in env)
    assert json.loads(lay.files[f"{RUN}/opt/ml/input/config/inputdataconfig.json"]) == {}


def test_sagemaker_two_hosts_get_one_tree_each_and_share_checkpoints() -> None:
    lay = layout("aws", inputs(nodes=2, processes_per_node=2, gpus_per_node=2))
    first, second = f"{RUN}/hosts/algo-1/opt/ml", f"{RUN}/hosts/algo-2/opt/ml"
    for index, base in enumerate((first, second)):
        resource = json.loads(lay.files[f"{base}/input/config/resourceconfig.json"])
        assert resource["hosts"] == ["algo-1", "algo-2"]
        assert resource["current_host"] == f"algo-{index + 1}"
        assert lay.nodes[index].env["SM_CURRENT_HOST"] == f"algo-{index + 1}"
        assert lay.nodes[index].env["SAGEMAKER_BASE_DIR"] == base
        assert lay.nodes[index].env["SM_NUM_GPUS"] == "2"
    assert lay.links == {f"{second}/checkpoints": f"{first}/checkpoints"}
    hps = json.loads(lay.files[f"{first}/input/config/hyperparameters.json"])
    assert json.loads(hps["sagemaker_torch_distributed_enabled"]) is True


# -- Vertex AI ----------------------------------------------------------------------------


def test_vertex_env_points_aip_dirs_into_the_run() -> None:
    lay = layout("gcp", inputs())
    env = lay.nodes[0].env
    assert env["AIP_MODEL_DIR"] == f"{RUN}/aip/model/"
    assert env["AIP_CHECKPOINT_DIR"] == f"{RUN}/aip/checkpoints/"
    assert env["AIP_TENSORBOARD_LOG_DIR"] == f"{RUN}/aip/logs/"
    assert env["CLOUD_ML_HP_METRIC_FILE"] == f"{RUN}/aip/hypertune/output.metrics"
    assert env["CLOUD_ML_JOB_ID"] == vertex_job_id(HASH)
    # the trainer is pip-installed from the sdist into an isolated environment, as the
    # prebuilt executor image does; nothing is put on PYTHONPATH
    assert lay.python_path == [] and lay.code_dirs == []
    assert lay.python_env == {
        "label": "the Vertex package",
        "base": ["torch"],
        "requires": [],
        "sdist_dir": f"{RUN}/vertex/package",
    }
    assert lay.nodes[0].argv == [PYTHON, "-m", "trainers"]
    for directory in ("aip/model", "aip/checkpoints", "aip/logs", "vertex/package"):
        assert f"{RUN}/{directory}" in lay.dirs


def test_vertex_job_id_is_numeric_and_stable() -> None:
    job_id = vertex_job_id(HASH)
    assert job_id.isdigit() and len(job_id) == 18
    assert vertex_job_id(HASH) == job_id
    assert vertex_job_id("f" * 64) != job_id


def test_vertex_cluster_spec_single_node() -> None:
    spec = json.loads(layout("gcp", inputs()).nodes[0].env["CLUSTER_SPEC"])
    assert spec == {
        "cluster": {"workerpool0": ["127.0.0.1:2222"]},
        "environment": "cloud",
        "task": {"type": "workerpool0", "index": 0, "trial": ""},
    }


def test_vertex_cluster_spec_puts_other_nodes_in_workerpool1() -> None:
    three = inputs(nodes=3)
    tasks = [cluster_spec(three, node)["task"] for node in range(3)]
    assert tasks == [
        {"type": "workerpool0", "index": 0, "trial": ""},
        {"type": "workerpool1", "index": 0, "trial": ""},
        {"type": "workerpool1", "index": 1, "trial": ""},
    ]
    cluster = cluster_spec(three, 0)["cluster"]
    assert len(cluster["workerpool0"]) == 1 and len(cluster["workerpool1"]) == 2
    assert cluster["workerpool0"] == [f"127.0.0.1:{MASTER_PORT}"]


def test_vertex_with_data_passes_the_staged_dir() -> None:
    lay = layout("gcp", inputs(has_data=True))
    assert lay.nodes[0].argv[-2:] == ["--data-dir", f"{RUN}/data/train"]
    assert lay.data_dirs == [f"{RUN}/data/train"]


# -- Azure ML -----------------------------------------------------------------------------


def test_azure_command_keeps_output_bindings_that_resolve_to_run_dirs() -> None:
    lay = layout("azure", inputs(has_data=True, azure={"workspace": "ws1"}))
    argv = lay.nodes[0].argv
    assert argv[:5] == [PYTHON, "-m", "trainers", "--config", "cloudgd-job.json"]
    assert "${{outputs.model}}" in argv and "${{inputs.train}}" in argv
    assert lay.bindings == {
        "${{outputs.model}}": f"{RUN}/azureml/outputs/model",
        "${{outputs.checkpoints}}": f"{RUN}/azureml/outputs/checkpoints",
        "${{outputs.metrics}}": f"{RUN}/azureml/outputs/metrics",
        "${{inputs.train}}": f"{RUN}/azureml/inputs/train",
    }
    assert lay.nodes[0].cwd == f"{RUN}/azureml/wd"
    assert {f"{RUN}/azureml/wd/outputs", f"{RUN}/azureml/wd/logs"} <= set(lay.dirs)
    env = lay.nodes[0].env
    assert env["AZUREML_RUN_ID"] == "digits-1a2b3c4d"
    assert env["AZUREML_ARM_WORKSPACE_NAME"] == "ws1"
    assert env["AZUREML_ARM_RESOURCEGROUP"] == "local"
    assert env["MLFLOW_TRACKING_URI"] == f"file:{RUN}/azureml/mlruns"


# -- plain local and ranks ------------------------------------------------------------------


def test_plain_run_passes_every_directory_as_a_flag() -> None:
    lay = layout("none", inputs(has_data=True))
    assert lay.nodes[0].argv == [
        PYTHON,
        "-m",
        "trainers",
        "--config",
        f"{RUN}/config.json",
        "--model-dir",
        f"{RUN}/model",
        "--checkpoint-dir",
        f"{RUN}/checkpoints",
        "--output-dir",
        f"{RUN}/output",
        "--data-dir",
        f"{RUN}/data/train",
    ]
    assert lay.nodes[0].env == {}
    assert lay.python_path is None


def test_a_single_process_gets_no_rank_variables() -> None:
    assert rank_env(inputs(), 0, 0) == {}


@pytest.mark.parametrize("emulate", ["none", "aws", "gcp", "azure"])
def test_ranks_get_torchrun_variables(emulate: str) -> None:
    two_by_two = inputs(nodes=2, processes_per_node=2)
    assert len(layout(emulate, two_by_two).nodes) == 2  # type: ignore[arg-type]
    env = rank_env(two_by_two, node=1, local_rank=1)
    assert env == {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": MASTER_PORT,
        "WORLD_SIZE": "4",
        "RANK": "3",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "2",
        "NODE_RANK": "1",
        "GROUP_RANK": "1",
    }


def test_azure_runs_in_an_environment_holding_only_its_declared_pip_list() -> None:
    declared = ["torch==2.13.0", "pydantic==2.14.4"]
    lay = layout("azure", inputs(azure_requires=declared))
    assert lay.python_env == {"label": "the Azure ML environment", "base": [], "requires": declared}
    # a registered environment or an image of the user's: nothing known to isolate
    assert layout("azure", inputs()).python_env is None


def test_vertex_custom_image_runs_the_container_command_on_the_local_sdist() -> None:
    command = ["sh", "-c", "tar ... && exec python ..."]
    lay = layout("gcp", inputs(vertex_container=command, image_requires=["pydantic>=2.7,<3"]))
    assert lay.nodes[0].argv == [*command, "{sdist}"]
    assert lay.nodes[0].env["TMPDIR"] == f"{RUN}/vertex/tmp"
    assert lay.python_env is not None and lay.python_env["install"] is False
    assert lay.python_env["base"] == ["torch"]
    assert lay.python_env["requires"] == ["pydantic>=2.7,<3"]

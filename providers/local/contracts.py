"""Each cloud's container contract, laid out under a local run directory (pure).

``layout(emulate, inputs)`` returns data only: the directories to create, the
files to write, the links to make, where the code bundle and the input data go,
and per node the command, working directory and environment the trainer sees
(see ../shared/contracts.md). Torchrun-style rank variables come from
:func:`rank_env`. Nothing here touches the disk or the environment.

The Vertex AI and Azure ML layouts live in ``contracts_vertex_azure.py``.

Placeholders left for the supervisor (machine facts, resolved at launch):
``{python}`` (interpreter), ``{master_port}`` (a free port), ``{cpu_count}``,
``{sdist}`` (the run's sdist, for a Vertex custom image's command).
Azure's ``${{inputs.x}}``/``${{outputs.x}}`` stay in the command as Azure ML
shows them; ``Layout.bindings`` says what the supervisor substitutes.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")

Emulate = Literal["none", "aws", "gcp", "azure"]
CHANNEL = "train"  # the input channel name all three cloud adapters use
PYTHON = "{python}"
MASTER_PORT = "{master_port}"
CPU_COUNT = "{cpu_count}"
MASTER_ADDR = "127.0.0.1"
_SM_GROUP = "homogeneousCluster"


class ContractInputs(BaseModel):
    """What a contract needs to know about the job (already derived from the spec)."""

    model_config = _FROZEN

    run_dir: str = Field(description="Absolute run directory.")
    job_name: str = Field(description="Deterministic job name.")
    job_hash: str = Field(description="Hex spec hash; seeds emulated ids (Vertex job id...).")
    nodes: int = Field(ge=1, description="Number of emulated machines.")
    processes_per_node: int = Field(ge=1, description="Processes each machine runs.")
    gpus_per_node: int = Field(ge=0, description="GPUs each emulated machine has.")
    has_data: bool = Field(description="Whether a local data file/dir feeds the train channel.")
    content_type: str | None = Field(default=None, description="MIME type of the data, if known.")
    streaming: bool = Field(
        default=False,
        description="trainer.data.mode resolves to stream: the channel is declared as the "
        "cloud's streaming input (SageMaker FastFile); the data is linked, never copied.",
    )
    instance_type: str | None = Field(default=None, description="Requested machine type.")
    region: str | None = Field(default=None, description="Requested region.")
    azure: dict[str, str] = Field(
        default_factory=dict,
        description="Azure scope: subscription_id, resource_group, workspace, experiment_name.",
    )
    vertex_container: list[str] | None = Field(
        default=None,
        description="A custom image's containerSpec command (Vertex), or None for the "
        "prebuilt image's python package.",
    )
    image_requires: list[str] = Field(
        default_factory=list,
        description="What a custom image must hold besides torch (the trainer's packages).",
    )
    azure_requires: list[str] | None = Field(
        default=None,
        description="The pip list of the Azure ML environment the job declares, or None when "
        "it runs in an environment cloudgd does not know (an image or a registered one).",
    )

    @property
    def world_size(self) -> int:
        return self.nodes * self.processes_per_node


class NodeContract(BaseModel):
    """How one emulated machine starts the trainer."""

    model_config = _FROZEN

    argv: list[str] = Field(description="Command line (placeholders resolved at launch).")
    cwd: str = Field(description="Working directory.")
    env: dict[str, str] = Field(description="Variables the platform sets on this machine.")


class Layout(BaseModel):
    """Everything a run directory needs for one emulation."""

    model_config = _FROZEN

    emulate: Emulate = Field(description="Which cloud contract this is.")
    dirs: list[str] = Field(description="Directories to create.")
    files: dict[str, str] = Field(description="Files to write: path -> text.")
    links: dict[str, str] = Field(
        default_factory=dict, description="Symlinks to make: link path -> existing target."
    )
    code_dirs: list[str] = Field(description="Where the code bundle is unpacked.")
    data_dirs: list[str] = Field(description="Channel dirs that receive the job's data.")
    python_path: list[str] | None = Field(
        default=None,
        description="PYTHONPATH for the ranks (replaces the inherited one), or None to keep it.",
    )
    bindings: dict[str, str] = Field(
        default_factory=dict, description="Command-line tokens substituted at launch."
    )
    python_env: dict[str, Any] | None = Field(
        default=None,
        description="An isolated environment the ranks' Python comes from "
        "(providers/local/isolated_env.py): label, base, requires, sdist_dir; None = this "
        "machine's Python.",
    )
    nodes: list[NodeContract] = Field(description="Per-node command, cwd and env.")
    artifacts: dict[str, str] = Field(
        description="Where results land: model_dir, output_dir, checkpoint_dir, failure_file."
    )


def _compact(value: Any) -> str:
    """The SageMaker toolkit's JSON form for env values: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def rank_env(inputs: ContractInputs, node: int, local_rank: int) -> dict[str, str]:
    """torchrun's variables for one process (also what Azure's PyTorchDistribution sets).

    Only for world size > 1: a single process gets none, as under the clouds.
    """
    if inputs.world_size == 1:
        return {}
    ppn = inputs.processes_per_node
    return {
        "MASTER_ADDR": MASTER_ADDR,
        "MASTER_PORT": MASTER_PORT,
        "WORLD_SIZE": str(inputs.world_size),
        "RANK": str(node * ppn + local_rank),
        "LOCAL_RANK": str(local_rank),
        "LOCAL_WORLD_SIZE": str(ppn),
        "NODE_RANK": str(node),
        "GROUP_RANK": str(node),
    }


def _plain(inputs: ContractInputs) -> Layout:
    run = inputs.run_dir
    data = f"{run}/data/{CHANNEL}"
    argv = [PYTHON, "-m", "trainers", "--config", f"{run}/config.json"]
    argv += ["--model-dir", f"{run}/model", "--checkpoint-dir", f"{run}/checkpoints"]
    argv += ["--output-dir", f"{run}/output"]
    if inputs.has_data:
        argv += ["--data-dir", data]
    node = NodeContract(argv=argv, cwd=f"{run}/code", env={})
    return Layout(
        emulate="none",
        dirs=[f"{run}/{d}" for d in ("code", "model", "checkpoints", "output")]
        + ([data] if inputs.has_data else []),
        files={},
        code_dirs=[f"{run}/code"],
        data_dirs=[data] if inputs.has_data else [],
        nodes=[node] * inputs.nodes,
        artifacts={
            "model_dir": f"{run}/model",
            "output_dir": f"{run}/output",
            "checkpoint_dir": f"{run}/checkpoints",
        },
    )


def sagemaker_base(inputs: ContractInputs, node: int) -> str:
    """The emulated ``/opt/ml`` of one host: one tree per host, as in SageMaker local mode."""
    if inputs.nodes == 1:
        return f"{inputs.run_dir}/opt/ml"
    return f"{inputs.run_dir}/hosts/algo-{node + 1}/opt/ml"


def _sagemaker(inputs: ContractInputs) -> Layout:
    hosts = [f"algo-{i + 1}" for i in range(inputs.nodes)]
    instance = inputs.instance_type or "local"
    hps: dict[str, Any] = {
        "sagemaker_container_log_level": 20,
        "sagemaker_job_name": inputs.job_name,
        "sagemaker_program": "cloudgd_entry.py",
        "sagemaker_region": inputs.region or "us-east-1",
    }
    if inputs.world_size > 1:
        hps["sagemaker_torch_distributed_enabled"] = True
    data_config = {}
    if inputs.has_data:
        channel: dict[str, str] = {
            "RecordWrapperType": "None",
            "S3DistributionType": "FullyReplicated",
            "TrainingInputMode": "FastFile" if inputs.streaming else "File",
        }
        if inputs.content_type:
            channel["ContentType"] = inputs.content_type
        data_config[CHANNEL] = channel
    framework = {k: v for k, v in hps.items() if k == "sagemaker_torch_distributed_enabled"}
    dirs: list[str] = []
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    nodes: list[NodeContract] = []
    shared_ckpt = f"{sagemaker_base(inputs, 0)}/checkpoints"
    for index, host in enumerate(hosts):
        base = sagemaker_base(inputs, index)
        config_dir, code = f"{base}/input/config", f"{base}/code"
        channel_dir = f"{base}/input/data/{CHANNEL}"
        dirs += [config_dir, f"{base}/model", f"{base}/output/data", f"{base}/output/intermediate"]
        dirs += [code] + ([channel_dir] if inputs.has_data else [])
        if index == 0:
            dirs.append(shared_ckpt)
        else:  # every host restores the same S3 checkpoints; emulate with one shared dir
            links[f"{base}/checkpoints"] = shared_ckpt
        resource = {
            "current_group_name": _SM_GROUP,
            "current_host": host,
            "current_instance_type": instance,
            "hosts": hosts,
            "instance_groups": [
                {"hosts": hosts, "instance_group_name": _SM_GROUP, "instance_type": instance}
            ],
            "network_interface_name": "eth0",
        }
        files[f"{config_dir}/hyperparameters.json"] = (
            json.dumps({k: json.dumps(v) for k, v in hps.items()}, indent=2, sort_keys=True) + "\n"
        )
        files[f"{config_dir}/resourceconfig.json"] = json.dumps(resource, indent=2) + "\n"
        files[f"{config_dir}/inputdataconfig.json"] = json.dumps(data_config, indent=2) + "\n"
        channels = {CHANNEL: channel_dir} if inputs.has_data else {}
        training_env = {
            "additional_framework_parameters": framework,
            "channel_input_dirs": channels,
            "current_host": host,
            "current_instance_type": instance,
            "hosts": hosts,
            "hyperparameters": {},
            "input_config_dir": config_dir,
            "input_data_config": data_config,
            "input_dir": f"{base}/input",
            "is_master": index == 0,
            "job_name": inputs.job_name,
            "log_level": 20,
            "master_hostname": hosts[0],
            "model_dir": f"{base}/model",
            "module_dir": code,
            "module_name": "cloudgd_entry",
            "network_interface_name": "eth0",
            "num_cpus": CPU_COUNT,
            "num_gpus": inputs.gpus_per_node,
            "output_data_dir": f"{base}/output/data",
            "output_dir": f"{base}/output",
            "output_intermediate_dir": f"{base}/output/intermediate",
            "resource_config": resource,
            "user_entry_point": "cloudgd_entry.py",
        }
        env = {
            "SAGEMAKER_BASE_DIR": base,
            "SAGEMAKER_PROGRAM": "cloudgd_entry.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": code,
            "SAGEMAKER_REGION": hps["sagemaker_region"],
            "SAGEMAKER_JOB_NAME": inputs.job_name,
            "TRAINING_JOB_NAME": inputs.job_name,
            "CURRENT_HOST": host,
            "SM_MODEL_DIR": f"{base}/model",
            "SM_OUTPUT_DIR": f"{base}/output",
            "SM_OUTPUT_DATA_DIR": f"{base}/output/data",
            "SM_OUTPUT_INTERMEDIATE_DIR": f"{base}/output/intermediate",
            "SM_INPUT_DIR": f"{base}/input",
            "SM_INPUT_CONFIG_DIR": config_dir,
            "SM_CHANNELS": _compact(sorted(channels)),
            "SM_HPS": _compact({}),
            "SM_USER_ARGS": _compact([]),
            "SM_FRAMEWORK_PARAMS": _compact(framework),
            "SM_HOSTS": _compact(hosts),
            "SM_CURRENT_HOST": host,
            "SM_CURRENT_INSTANCE_TYPE": instance,
            "SM_NUM_GPUS": str(inputs.gpus_per_node),
            "SM_NUM_CPUS": CPU_COUNT,
            "SM_NUM_NEURONS": "0",
            "SM_LOG_LEVEL": "20",
            "SM_NETWORK_INTERFACE_NAME": "eth0",
            "SM_MODULE_NAME": "cloudgd_entry",
            "SM_MODULE_DIR": code,
            "SM_USER_ENTRY_POINT": "cloudgd_entry.py",
            "SM_RESOURCE_CONFIG": _compact(resource),
            "SM_INPUT_DATA_CONFIG": _compact(data_config),
            # num_cpus is a placeholder: the JSON holds a bare {cpu_count} until launch
            "SM_TRAINING_ENV": _compact(training_env).replace(f'"{CPU_COUNT}"', CPU_COUNT),
        }
        for name, path in channels.items():
            env[f"SM_CHANNEL_{name.upper()}"] = path
        nodes.append(NodeContract(argv=[PYTHON, "cloudgd_entry.py"], cwd=code, env=env))
    base0 = sagemaker_base(inputs, 0)
    return Layout(
        emulate="aws",
        dirs=dirs,
        files=files,
        links=links,
        code_dirs=[sagemaker_base(inputs, i) + "/code" for i in range(inputs.nodes)],
        data_dirs=[f"{sagemaker_base(inputs, i)}/input/data/{CHANNEL}" for i in range(inputs.nodes)]
        if inputs.has_data
        else [],
        python_path=[],
        nodes=nodes,
        artifacts={
            "model_dir": f"{base0}/model",
            "output_dir": f"{base0}/output/data",
            "checkpoint_dir": shared_ckpt,
            "failure_file": f"{base0}/output/failure",
        },
    )


def layout(emulate: Emulate, inputs: ContractInputs) -> Layout:
    """The run-dir layout, commands and env for ``emulate`` (none = plain local run)."""
    from providers.local.contracts_vertex_azure import azure_layout, vertex_layout

    builders = {"none": _plain, "aws": _sagemaker, "gcp": vertex_layout, "azure": azure_layout}
    return builders[emulate](inputs)

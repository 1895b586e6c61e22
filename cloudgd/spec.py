"""JobSpec: the one provider-agnostic description of a training job.

Field names here are the public interface (docs, examples, CI scripts and
``--set`` overrides use them); rename one only with a deprecation path.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from cloudgd.accelerators import Accelerator, parse_accelerator
from cloudgd.durations import Duration
from cloudgd.provider_options import SpecProviders, default_blocks
from cloudgd.script_spec import ScriptSpec
from cloudgd.tuning.spec import TuningSpec
from trainers.config import ConfigModel, TrainConfig, has_control_characters

# Image references are printable ASCII without spaces (OCI: name[:tag][@digest]); a newline
# or control character would end up inside the cloud request and the container command.
_IMAGE = re.compile(r"^[!-~]+$")
MAX_COST_USD = 10_000_000  # past this, time caps derived from the budget overflow
MAX_CLUSTER_NODES = 10_000
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Resources(ConfigModel):
    """What each node has, and how many nodes."""

    accelerator: str = Field(
        default="none",
        description="Accelerator per node as TYPE:COUNT (A100:8, T4:1, tpu-v5e:8) or none.",
    )
    nodes: int = Field(default=1, ge=1, le=512, description="Number of machines.")
    instance_type: str | None = Field(
        default=None,
        description="Provider machine type (ml.g5.xlarge, a2-highgpu-1g, Standard_NC6s_v3); "
        "chosen from the catalog when null.",
    )
    region: str | None = Field(
        default=None, description="Cloud region (default: each provider's own default)."
    )
    disk_gb: int | None = Field(default=None, ge=1, le=16384, description="Disk per node in GB.")
    min_vcpus: int | None = Field(
        default=None, ge=1, le=4096, description="Smallest vCPU count per node."
    )
    min_memory_gib: float | None = Field(
        default=None, gt=0, le=65536, description="Smallest memory per node in GiB."
    )

    @field_validator("accelerator")
    @classmethod
    def _accelerator(cls, value: str) -> str:
        return str(parse_accelerator(value))

    @field_validator("instance_type", "region")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        # Both end up in request fields, URLs and job handles.
        if value is not None and not _IMAGE.match(value):
            raise ValueError(f"printable characters without spaces or line breaks (got {value!r})")
        return value

    @property
    def parsed_accelerator(self) -> Accelerator:
        return parse_accelerator(self.accelerator)


class Scaling(ConfigModel):
    """Spot capacity, retries and cluster autoscaling."""

    spot: bool = Field(
        default=False,
        description="Use spare capacity: SageMaker managed spot, Vertex SPOT, Azure low priority.",
    )
    max_wait: Duration | None = Field(
        default=None,
        gt=0,
        description="With spot: total time allowed including waiting for capacity "
        "(>= limits.max_runtime).",
    )
    restarts: int = Field(default=0, ge=0, le=30, description="Automatic retries on failure.")
    min_nodes: int = Field(
        default=0, ge=0, le=MAX_CLUSTER_NODES, description="Cluster autoscaling floor (Azure)."
    )
    max_nodes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CLUSTER_NODES,
        description="Cluster autoscaling ceiling (default: resources.nodes).",
    )
    idle_scale_down: Duration = Field(
        default=600, description="Idle time before a cluster node is released (Azure)."
    )
    keep_alive: Duration | None = Field(
        default=None,
        description="Keep instances warm after the job for reuse (SageMaker warm pools, max 1h).",
    )


class Distributed(ConfigModel):
    """How processes cooperate across GPUs and nodes."""

    strategy: Literal["auto", "none", "ddp"] = Field(
        default="auto", description="ddp for data parallel; auto = ddp when >1 process."
    )
    backend: Literal["auto", "nccl", "gloo", "xla"] = Field(
        default="auto", description="Collective backend; auto = nccl on GPU, gloo on CPU."
    )
    processes_per_node: int | None = Field(
        default=None, ge=1, le=64, description="Processes per node (default: GPUs per node, or 1)."
    )


class Limits(ConfigModel):
    """Caps on time and money."""

    max_runtime: Duration = Field(
        default=86400,
        gt=0,
        description="Hard cap on training time (more than 0s); the cloud stops the job after it.",
    )
    max_cost_usd: float | None = Field(
        default=None,
        gt=0,
        le=MAX_COST_USD,
        description="Refuse to submit when the worst case exceeds this; lowers the time cap so "
        f"spend cannot exceed it. At most {MAX_COST_USD}.",
    )
    expected_runtime: Duration | None = Field(
        default=None, gt=0, description="Your estimate of the run time, used by `cloudgd cost`."
    )
    on_budget: Literal["refuse", "cap"] = Field(
        default="refuse",
        description="When the worst case (nodes x price x max_runtime) exceeds max_cost_usd: "
        "refuse to submit, or cap the cloud-side time limit so spend stops at the budget.",
    )
    price_per_hour_usd: float | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="USD per node-hour you vouch for (what the service bills this job). "
        "max_cost_usd is checked and capped against it instead of the catalog; needed for "
        "on_budget: cap where the catalog has only a stand-in or no price.",
    )


class Checkpoints(ConfigModel):
    """Where checkpoints persist across restarts and preemptions."""

    enabled: bool = Field(default=True, description="Persist checkpoints outside the node.")
    uri: str | None = Field(
        default=None,
        description="Checkpoint location (s3://, gs://, azureml://); default under the output.",
    )

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value is not None and has_control_characters(value):
            raise ValueError(f"contains a control character (got {value!r})")
        return value


class SecretRef(ConfigModel):
    """A secret passed to the job by reference; its value is never in the spec."""

    source: Literal["env", "aws-secretsmanager", "gcp-secretmanager", "azure-keyvault"] = Field(
        description="Where the secret lives."
    )
    ref: str = Field(
        min_length=1,
        description="Secret name/ARN/resource ID, or for source=env the local variable name.",
    )


class JobSpec(ConfigModel):
    """A training job, independent of where it runs."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"title": "cloudgd job spec"}
    )

    name: str = Field(
        description="Job name: lower-case letters, digits and '-', 2-40 characters. Cloud job "
        "names add a content hash."
    )
    description: str | None = Field(default=None, description="Free text for people.")
    trainer: TrainConfig = Field(
        default_factory=TrainConfig,
        description="What the shared trainer does (its defaults when neither trainer: nor "
        "script: is given).",
    )
    script: ScriptSpec | None = Field(
        default=None,
        description="Your own training script instead of the trainer (docs/scripts.md); "
        "exactly one of trainer: and script:.",
    )
    resources: Resources = Field(default_factory=Resources, description="Machines.")
    scaling: Scaling = Field(default_factory=Scaling, description="Spot, retries, autoscaling.")
    distributed: Distributed = Field(
        default_factory=Distributed, description="Multi-process training."
    )
    limits: Limits = Field(default_factory=Limits, description="Time and cost caps.")
    checkpoints: Checkpoints = Field(
        default_factory=Checkpoints, description="Checkpoint persistence."
    )
    image: str = Field(
        default="prebuilt",
        description="'prebuilt' (the provider's PyTorch image + the trainer bundle) or an "
        "image URI with the trainer installed.",
    )
    code: str | None = Field(
        default=None,
        description="Your code directory, shipped with the trainer (for model.kind=custom); "
        "relative to the spec file.",
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Environment variables for the training process."
    )
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict,
        description="Environment variables filled from a secret store at run time.",
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="Tags/labels on the cloud job (and its resources)."
    )
    providers: SpecProviders = Field(
        default_factory=default_blocks, description="Per-provider settings."
    )
    tuning: TuningSpec | None = Field(
        default=None,
        description="Hyperparameter search over trainer fields or script arguments "
        "(`cloudgd tune`); off when absent.",
    )

    # -- trainer: or script: (issue 20) ----------------------------------------------
    @model_serializer(mode="wrap")
    def _without_the_unused_trainer(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A script job still holds trainer:'s defaults; dumping them would make the dump
        # a spec with both blocks, which validation refuses (a study's saved job, plans).
        data = handler(self)
        if self.script is not None and isinstance(data, dict):
            data.pop("trainer", None)
        return data

    @model_validator(mode="before")
    @classmethod
    def _trainer_or_script(cls, data: object) -> object:
        # trainer: has a default, so leaving both out keeps meaning the built-in trainer
        # (every spec written before script: existed); writing both, or trainer: null
        # without a script:, is the user's mistake.
        if not isinstance(data, dict) or "trainer" not in data:
            return data
        has_script = data.get("script") is not None
        if data["trainer"] is None:
            if not has_script:
                raise ValueError(
                    "give exactly one of trainer: (the built-in trainer) and script: (your "
                    "own script); this job has neither (trainer: is empty; remove it to use the "
                    "trainer's defaults)"
                )
            return {k: v for k, v in data.items() if k != "trainer"}
        if has_script:
            raise ValueError(
                "give exactly one of trainer: (the built-in trainer) and script: (your own "
                "script), not both"
            )
        return data

    @property
    def is_script(self) -> bool:
        """True when the job runs the user's own script instead of the trainer."""
        return self.script is not None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "must be 2-40 lower-case letters, digits or '-', starting with a letter "
                f"(got {value!r})"
            )
        return value

    @field_validator("env", "secrets")
    @classmethod
    def _env_names(cls, value: dict[str, object]) -> dict[str, object]:
        for key in value:
            if not _ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            if not 1 <= len(key) <= 63 or len(val) > 63:
                raise ValueError(f"tag {key!r}: keys 1-63 characters, values at most 63")
        return value

    @field_validator("code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and has_control_characters(value):
            raise ValueError(f"contains a control character (got {value!r})")
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if value != "prebuilt" and not _IMAGE.match(value):
            raise ValueError(
                f"must be 'prebuilt' or an image URI: printable characters, no spaces or line "
                f"breaks (got {value!r})"
            )
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> JobSpec:
        scaling, limits = self.scaling, self.limits
        if scaling.spot:
            if not self.checkpoints.enabled:
                raise ValueError(
                    "scaling.spot: spot capacity can be reclaimed at any time; it needs "
                    "checkpoints.enabled=true so the job resumes instead of restarting"
                )
            if scaling.max_wait is not None and scaling.max_wait < limits.max_runtime:
                raise ValueError(
                    f"scaling.max_wait ({scaling.max_wait}s) must be >= limits.max_runtime "
                    f"({limits.max_runtime}s)"
                )
        elif scaling.max_wait is not None:
            raise ValueError("scaling.max_wait only applies with scaling.spot=true")
        if scaling.restarts > 0 and not self.checkpoints.enabled:
            raise ValueError(
                "scaling.restarts: a restarted job starts from scratch without checkpoints; "
                "set checkpoints.enabled=true"
            )
        if scaling.max_nodes is not None and scaling.max_nodes < self.resources.nodes:
            raise ValueError(
                f"scaling.max_nodes ({scaling.max_nodes}) must be >= resources.nodes "
                f"({self.resources.nodes})"
            )
        if scaling.max_nodes is not None and scaling.min_nodes > scaling.max_nodes:
            raise ValueError("scaling.min_nodes must be <= scaling.max_nodes")
        if scaling.keep_alive is not None and scaling.keep_alive > 3600:
            raise ValueError("scaling.keep_alive: SageMaker warm pools keep at most 1h")
        if limits.expected_runtime is not None and limits.expected_runtime > limits.max_runtime:
            raise ValueError("limits.expected_runtime must be <= limits.max_runtime")
        if self.script is not None and not self.code:
            raise ValueError("script: needs code: (the directory holding the script, e.g. code: .)")
        if self.trainer.model.kind == "custom" and not self.code:
            raise ValueError(
                "trainer.model.kind=custom needs code: (the directory with your module)"
            )
        if self.trainer.data.source == "custom" and not self.code:
            raise ValueError(
                "trainer.data.source=custom needs code: (the directory with the module "
                "data.entrypoint names)"
            )
        overlap = set(self.env) & set(self.secrets)
        if overlap:
            raise ValueError(f"env and secrets both set {sorted(overlap)}")
        if self.tuning is not None and self.script is not None:
            from cloudgd.script_tuning import check_script_tuning

            check_script_tuning(self.tuning, self.script)
        elif self.tuning is not None:
            from cloudgd.tuning.validate import check_tuning

            check_tuning(self.tuning, self.trainer)
        return self

    @property
    def processes_per_node(self) -> int:
        """Processes each node runs: explicit, else one per GPU, else 1."""
        if self.distributed.processes_per_node:
            return self.distributed.processes_per_node
        acc = self.resources.parsed_accelerator
        return acc.count if acc.is_gpu else 1

    @property
    def world_size(self) -> int:
        return self.resources.nodes * self.processes_per_node

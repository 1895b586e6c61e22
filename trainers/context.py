"""Where this run is: platform, directories and distributed rank. Torch-free.

One ``detect_context`` turns flags + environment into a ``RunContext``. Order:
explicit flags, then ``CLOUDGD_*_DIR`` variables, then the platform's own contract
(SageMaker, Vertex AI, Azure ML; see shared/contracts.md), then local defaults
under ``./outputs``. Rank and world come from torchrun's variables when present,
else they are derived from SageMaker's host list or Vertex's CLUSTER_SPEC.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from trainers.errors import ConfigError

Platform = Literal["sagemaker", "vertex", "azureml", "torchrun", "local"]
SAGEMAKER_MASTER_PORT = 7777  # what the SageMaker training toolkit gives torchrun
DEFAULT_MASTER_PORT = 29500  # torch.distributed's usual default
DEFAULT_HP_METRIC_FILE = "/tmp/hypertune/output.metrics"


@dataclass(frozen=True)
class RunContext:
    """Everything the trainer needs to know about where it runs."""

    platform: Platform
    model_dir: Path
    output_dir: Path
    checkpoint_dir: Path
    data_dirs: dict[str, Path] = field(default_factory=dict)
    data_dir: Path | None = None
    tensorboard_dir: Path | None = None
    code_dir: Path | None = None
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int = DEFAULT_MASTER_PORT
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    failure_file: Path | None = None
    hp_metric_file: Path | None = None
    trial_id: str | None = None
    job_id: str | None = None

    @property
    def is_main(self) -> bool:
        """Only rank 0 writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def gcs_to_local(uri: str) -> str:
    """``gs://bucket/x`` → ``/gcs/bucket/x`` (Vertex mounts buckets with Cloud Storage FUSE)."""
    if uri.startswith("gs://"):
        return "/gcs/" + uri[len("gs://") :]
    return uri


def _path(value: str | None) -> Path | None:
    return Path(gcs_to_local(value)) if value else None


def _int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"${name}: expected an integer, got {value!r}") from exc


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{what}: invalid JSON: {exc}") from exc


@dataclass
class _Rank:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int = DEFAULT_MASTER_PORT


def _torchrun_rank(env: Mapping[str, str]) -> _Rank | None:
    world = _int(env, "WORLD_SIZE")
    rank = _int(env, "RANK")
    if world is None or rank is None:
        return None
    return _Rank(
        rank=rank,
        local_rank=_int(env, "LOCAL_RANK") or 0,
        world_size=world,
        node_rank=_int(env, "GROUP_RANK") or _int(env, "NODE_RANK") or 0,
        master_addr=env.get("MASTER_ADDR", "127.0.0.1"),
        master_port=_int(env, "MASTER_PORT") or DEFAULT_MASTER_PORT,
    )


def _sagemaker_rank(env: Mapping[str, str], base: Path) -> _Rank:
    hosts: list[str] = []
    current = env.get("SM_CURRENT_HOST", "")
    if env.get("SM_HOSTS"):
        hosts = list(_json(env["SM_HOSTS"], "$SM_HOSTS"))
    else:
        rc = base / "input" / "config" / "resourceconfig.json"
        if rc.is_file():
            conf = _json(rc.read_text(), str(rc))
            hosts, current = list(conf.get("hosts", [])), conf.get("current_host", current)
    if len(hosts) <= 1:
        return _Rank()
    hosts = sorted(hosts)
    if current not in hosts:
        raise ConfigError(f"$SM_CURRENT_HOST={current!r} is not in $SM_HOSTS {hosts}")
    node = hosts.index(current)
    # One process per host without torchrun; the toolkit's torchrun path sets RANK itself.
    return _Rank(
        rank=node,
        world_size=len(hosts),
        node_rank=node,
        master_addr=hosts[0],
        master_port=SAGEMAKER_MASTER_PORT,
    )


def vertex_node(env: Mapping[str, str]) -> _Rank:
    """This machine's node rank, the node count and the primary's address, from
    Vertex AI's ``CLUSTER_SPEC`` (one trainer process per node unless launched per GPU)."""
    return _vertex_rank(env)


def _vertex_rank(env: Mapping[str, str]) -> _Rank:
    spec_text = env.get("CLUSTER_SPEC")
    if not spec_text:
        return _Rank()
    spec = _json(spec_text, "$CLUSTER_SPEC")
    cluster = spec.get("cluster", {})
    task = spec.get("task", {})
    primary = list(cluster.get("workerpool0", []))
    workers = list(cluster.get("workerpool1", []))
    # workerpool2 (parameter/reduction servers) and workerpool3 (evaluators) do not train.
    kind, index = task.get("type", "workerpool0"), int(task.get("index", 0))
    if kind not in ("workerpool0", "workerpool1"):
        raise ConfigError(f"$CLUSTER_SPEC: task type {kind!r} is not a training worker pool")
    node = 0 if kind == "workerpool0" else 1 + index
    host, _, port = (primary[0] if primary else "127.0.0.1").partition(":")
    return _Rank(
        rank=node,
        world_size=max(1, len(primary)) + len(workers),
        node_rank=node,
        master_addr=host,
        master_port=int(port) if port else DEFAULT_MASTER_PORT,
    )


def _sagemaker_channels(env: Mapping[str, str], base: Path) -> dict[str, Path]:
    channels = {
        key[len("SM_CHANNEL_") :].lower(): Path(value)
        for key, value in env.items()
        if key.startswith("SM_CHANNEL_") and value
    }
    data_root = base / "input" / "data"
    if not channels and data_root.is_dir():
        channels = {p.name: p for p in sorted(data_root.iterdir()) if p.is_dir()}
    return channels


def _primary_channel(channels: Mapping[str, Path]) -> Path | None:
    for name in ("train", "training", "data"):
        if name in channels:
            return channels[name]
    return channels[sorted(channels)[0]] if channels else None


def _sagemaker_hps(env: Mapping[str, str], base: Path) -> dict[str, Any]:
    path = base / "input" / "config" / "hyperparameters.json"
    if path.is_file():
        return dict(_json(path.read_text(), str(path)))
    if env.get("SM_HPS"):
        return dict(_json(env["SM_HPS"], "$SM_HPS"))
    return {}


# Set by cloudgd's Azure ML sweep on each trial: Azure ML itself marks no trial as one.
SWEEP_TRIAL_VAR = "CLOUDGD_SWEEP_TRIAL"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def trial_key(platform: Platform, env: Mapping[str, str], hps: Mapping[str, Any]) -> str | None:
    """Which tuning trial this run is, or None for a single job.

    Every trial of a study gets the same checkpoint location from the request (one
    SageMaker CheckpointConfig, one Vertex ``--checkpoint-dir``, one Azure output path),
    so without a subfolder each would resume from, or overwrite, another's checkpoints.
    The key stays the same when the platform restarts a trial (spot, preemption), so a
    restarted trial still resumes from its own.
    """
    if env.get("CLOUDGD_TRIAL_ID"):
        key = env["CLOUDGD_TRIAL_ID"]
    elif platform == "sagemaker" and "_tuning_objective_metric" in hps:
        # SageMaker names each trial's training job; its hyperparameters mark it a trial.
        key = env.get("TRAINING_JOB_NAME") or env.get("SAGEMAKER_JOB_NAME") or _digest(hps)
    elif platform == "vertex":
        key = env.get("CLOUD_ML_TRIAL_ID") or ""
    elif platform == "azureml" and env.get(SWEEP_TRIAL_VAR):
        key = env.get("AZUREML_RUN_ID") or ""
    else:
        return None
    return _UNSAFE.sub("_", key) or None


def _digest(hps: Mapping[str, Any]) -> str:
    """A trial's own values name it when its job name is unknown (stable across restarts)."""
    text = json.dumps(dict(hps), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def detect_platform(env: Mapping[str, str], opt_ml: Path = Path("/opt/ml")) -> Platform:
    """Which platform's contract applies, by its signature variables or paths."""
    if (
        any(k in env for k in ("SM_TRAINING_ENV", "SM_MODEL_DIR", "SM_HOSTS", "SAGEMAKER_BASE_DIR"))
        or (opt_ml / "input" / "config").is_dir()
    ):
        return "sagemaker"
    if any(k in env for k in ("CLOUD_ML_JOB_ID", "AIP_MODEL_DIR", "CLUSTER_SPEC")):
        return "vertex"
    if "AZUREML_RUN_ID" in env:
        return "azureml"
    if "WORLD_SIZE" in env and "RANK" in env:
        return "torchrun"
    return "local"


@dataclass(frozen=True)
class Flags:
    """Directories given on the command line; each one wins over the environment."""

    data_dir: str | None = None
    model_dir: str | None = None
    checkpoint_dir: str | None = None
    output_dir: str | None = None
    tensorboard_dir: str | None = None
    code_dir: str | None = None


def detect_context(
    flags: Flags | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    opt_ml: Path = Path("/opt/ml"),
) -> RunContext:
    """Build the RunContext for this process (pure given its arguments)."""
    import os

    flags = flags or Flags()
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    platform = detect_platform(env, opt_ml)
    local_out = cwd / "outputs"
    dirs: dict[str, Path | None] = {
        "model": local_out / "model",
        "output": local_out,
        "checkpoint": local_out / "checkpoints",
        "tensorboard": None,
        "data": None,
        "code": None,
    }
    channels: dict[str, Path] = {}
    hps: dict[str, Any] = {}
    failure: Path | None = None
    hp_file: Path | None = None
    rank = _Rank()
    job_id: str | None = None

    if platform == "sagemaker":
        base = Path(env.get("SAGEMAKER_BASE_DIR", str(opt_ml)))
        dirs["model"] = Path(env.get("SM_MODEL_DIR", str(base / "model")))
        dirs["output"] = Path(env.get("SM_OUTPUT_DATA_DIR", str(base / "output" / "data")))
        dirs["checkpoint"] = base / "checkpoints"
        dirs["tensorboard"] = base / "output" / "tensorboard"
        dirs["code"] = Path(env.get("SM_MODULE_DIR", str(base / "code")))
        if not dirs["code"].is_dir():  # type: ignore[union-attr]
            dirs["code"] = base / "code"
        channels = _sagemaker_channels(env, base)
        dirs["data"] = _primary_channel(channels)
        hps = _sagemaker_hps(env, base)
        failure = base / "output" / "failure"
        rank = _sagemaker_rank(env, base)
        job_id = env.get("TRAINING_JOB_NAME")
    elif platform == "vertex":
        model = _path(env.get("AIP_MODEL_DIR"))
        if model is not None:
            dirs["model"] = model
            dirs["output"] = model.parent / "output"
            dirs["checkpoint"] = model.parent / "checkpoints"
        dirs["checkpoint"] = _path(env.get("AIP_CHECKPOINT_DIR")) or dirs["checkpoint"]
        dirs["tensorboard"] = _path(env.get("AIP_TENSORBOARD_LOG_DIR"))
        dirs["data"] = _path(env.get("AIP_TRAINING_DATA_URI"))
        rank = _vertex_rank(env)
        job_id = env.get("CLOUD_ML_JOB_ID")
    elif platform == "azureml":
        dirs["tensorboard"] = cwd / "logs" / "tensorboard"
        job_id = env.get("AZUREML_RUN_ID")
    if "CLOUD_ML_HP_METRIC_FILE" in env or "CLOUD_ML_TRIAL_ID" in env:
        hp_file = Path(env.get("CLOUD_ML_HP_METRIC_FILE", DEFAULT_HP_METRIC_FILE))

    # torchrun (and Azure ML's PyTorch distribution) set these per process: they win.
    torchrun = _torchrun_rank(env)
    if torchrun is not None:
        rank = torchrun

    for key, var in (
        ("data", "CLOUDGD_DATA_DIR"),
        ("model", "CLOUDGD_MODEL_DIR"),
        ("checkpoint", "CLOUDGD_CHECKPOINT_DIR"),
        ("output", "CLOUDGD_OUTPUT_DIR"),
        ("tensorboard", "CLOUDGD_TENSORBOARD_DIR"),
        ("code", "CLOUDGD_CODE_DIR"),
    ):
        if env.get(var):
            dirs[key] = Path(gcs_to_local(env[var]))
    for key, value in (
        ("data", flags.data_dir),
        ("model", flags.model_dir),
        ("checkpoint", flags.checkpoint_dir),
        ("output", flags.output_dir),
        ("tensorboard", flags.tensorboard_dir),
        ("code", flags.code_dir),
    ):
        if value:
            dirs[key] = Path(gcs_to_local(value))

    model_dir, output_dir, ckpt_dir = dirs["model"], dirs["output"], dirs["checkpoint"]
    assert model_dir is not None and output_dir is not None and ckpt_dir is not None
    trial = trial_key(platform, env, hps)
    if trial is not None:
        ckpt_dir = ckpt_dir / f"trial-{trial}"
    if rank.world_size < 1 or not 0 <= rank.rank < rank.world_size:
        raise ConfigError(f"rank {rank.rank} is outside world size {rank.world_size}")
    return RunContext(
        platform=platform,
        model_dir=model_dir,
        output_dir=output_dir,
        checkpoint_dir=ckpt_dir,
        data_dirs=channels,
        data_dir=dirs["data"],
        tensorboard_dir=dirs["tensorboard"],
        code_dir=dirs["code"],
        rank=rank.rank,
        local_rank=rank.local_rank,
        world_size=rank.world_size,
        node_rank=rank.node_rank,
        master_addr=rank.master_addr,
        master_port=rank.master_port,
        hyperparameters=hps,
        failure_file=failure,
        hp_metric_file=hp_file,
        trial_id=env.get("CLOUD_ML_TRIAL_ID"),
        job_id=job_id,
    )

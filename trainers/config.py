"""TrainConfig: what the trainer does. Torch-free, because the job spec embeds it.

This block *is* the ``trainer:`` section of a cloudgd job spec.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from trainers.config_base import (
    _ENTRYPOINT,
    HF_ARG_KEYS,
    MAX_CELLS,
    MAX_CLASSES,
    MAX_COUNT,
    MAX_FEATURES,
    MAX_HIDDEN_WEIGHTS,
    MAX_LAYERS,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_THREADS,
    MAX_TOKENS,
    MAX_WIDTH,
    REPORTED_METRICS,
    SUMMARY_NUMBERS,
    TRAIN_METRICS,
    VALIDATION_METRICS,
    ConfigModel,
    Task,
    has_control_characters,
)
from trainers.config_data import DataConfig, DataSource, declared_task, synthetic_informative

# The public names: this module's blocks, and the bounds and metric names it re-exports
# from trainers.config_base (trainers, cloudgd and the tests import them from here).
__all__ = [
    "HF_ARG_KEYS",
    "MAX_CELLS",
    "MAX_CLASSES",
    "MAX_COUNT",
    "MAX_FEATURES",
    "MAX_HIDDEN_WEIGHTS",
    "MAX_LAYERS",
    "MAX_SAMPLES",
    "MAX_SEED",
    "MAX_THREADS",
    "MAX_TOKENS",
    "MAX_WIDTH",
    "REPORTED_METRICS",
    "SUMMARY_NUMBERS",
    "TRAIN_METRICS",
    "VALIDATION_METRICS",
    "CheckpointConfig",
    "ConfigModel",
    "DataConfig",
    "DataSource",
    "EarlyStoppingConfig",
    "ModelConfig",
    "ModelKind",
    "OptimizerConfig",
    "OptimizerName",
    "PerformanceConfig",
    "ScheduleConfig",
    "ScheduleName",
    "Task",
    "TrainConfig",
    "declared_task",
    "has_control_characters",
    "synthetic_informative",
]


ModelKind = Literal[
    "linear", "logistic", "softmax", "mlp", "cnn", "resnet", "custom", "huggingface"
]
OptimizerName = Literal["sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs"]
ScheduleName = Literal[
    "constant",
    "step",
    "multistep",
    "exponential",
    "cosine",
    "warmup_cosine",
    "linear",
    "onecycle",
    "plateau",
]


class ModelConfig(ConfigModel):
    """The network to train."""

    kind: ModelKind = Field(default="mlp", description="Model family.")
    hidden: list[Annotated[int, Field(ge=1, le=MAX_WIDTH)]] = Field(
        default_factory=lambda: [128, 64],
        max_length=MAX_LAYERS,
        description="Hidden layer widths (mlp) or channel widths per stage (cnn, resnet): at "
        f"most {MAX_LAYERS} layers of 1-{MAX_WIDTH}, and at most {MAX_HIDDEN_WEIGHTS} weights "
        "between consecutive layers in all.",
    )
    activation: Literal["relu", "gelu", "tanh", "silu"] = Field(
        default="relu", description="Activation between hidden layers."
    )
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="Dropout probability.")
    init: Literal["default", "xavier", "he"] = Field(
        default="default", description="Weight initialisation scheme."
    )
    batch_norm: bool = Field(default=False, description="Batch normalisation (mlp, cnn).")
    gradient_checkpointing: bool = Field(
        default=False, description="Recompute activations in backward to save memory (deep models)."
    )
    entrypoint: str | None = Field(
        default=None,
        description="For kind=custom: 'module:function' in the job's code dir returning an "
        "nn.Module; called with (input_shape, num_outputs, **args).",
    )
    name: str | None = Field(
        default=None,
        description="For kind=huggingface: model name or path, e.g. bert-base-uncased.",
    )
    args: dict[str, Any] = Field(
        default_factory=dict, description="Extra keyword arguments for custom/huggingface models."
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> ModelConfig:
        if self.kind == "custom" and not self.entrypoint:
            raise ValueError("model.kind=custom needs model.entrypoint ('module:function')")
        if self.kind == "custom" and self.entrypoint and not _ENTRYPOINT.match(self.entrypoint):
            raise ValueError(
                f"model.entrypoint must look like 'module:function' (got {self.entrypoint!r})"
            )
        if self.kind == "huggingface" and not self.name:
            raise ValueError("model.kind=huggingface needs model.name")
        weights = sum(a * b for a, b in zip(self.hidden, self.hidden[1:], strict=False))
        if weights > MAX_HIDDEN_WEIGHTS:
            raise ValueError(
                f"model.hidden: {weights} weights between hidden layers, more than "
                f"{MAX_HIDDEN_WEIGHTS} (1 GiB of fp32); use narrower or fewer layers"
            )
        return self


class OptimizerConfig(ConfigModel):
    """The gradient-descent update rule."""

    name: OptimizerName = Field(default="adamw", description="Optimizer.")
    lr: float = Field(default=1e-3, gt=0.0, description="Base learning rate.")
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0, description="SGD/RMSprop momentum.")
    nesterov: bool = Field(default=False, description="Nesterov momentum (SGD).")
    weight_decay: float = Field(default=0.0, ge=0.0, description="L2 penalty / decoupled decay.")
    l1: float = Field(default=0.0, ge=0.0, description="L1 penalty added to the loss.")
    betas: tuple[float, float] = Field(
        default=(0.9, 0.999), description="Adam/AdamW betas, each in [0, 1)."
    )
    eps: float = Field(default=1e-8, gt=0.0, description="Numerical epsilon.")
    lbfgs_history: int = Field(default=10, ge=1, le=MAX_COUNT, description="L-BFGS history size.")
    lr_scaling: Literal["none", "linear", "sqrt"] = Field(
        default="none",
        description="Scale lr with the global batch (batch_size x world x accumulation) "
        "relative to base_batch_size.",
    )
    base_batch_size: int = Field(
        default=64, ge=1, le=MAX_COUNT, description="Reference batch for lr_scaling."
    )

    @model_validator(mode="after")
    def _nesterov(self) -> OptimizerConfig:
        if self.nesterov and (self.name != "sgd" or self.momentum <= 0):
            raise ValueError("optimizer.nesterov needs name=sgd and momentum > 0")
        return self

    @field_validator("betas")
    @classmethod
    def _betas(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= beta < 1.0 for beta in value):
            raise ValueError(f"each beta must be in [0, 1) (got {list(value)})")
        return value


class ScheduleConfig(ConfigModel):
    """How the learning rate changes over training."""

    name: ScheduleName = Field(default="constant", description="Schedule.")
    warmup_steps: int = Field(
        default=0, ge=0, le=MAX_COUNT, description="Linear warmup steps (any schedule)."
    )
    step_size: int = Field(
        default=10, ge=1, le=MAX_COUNT, description="step: epochs between decays."
    )
    milestones: list[Annotated[int, Field(ge=0, le=MAX_COUNT)]] = Field(
        default_factory=list,
        max_length=1000,
        description=f"multistep: decay epochs, each 0-{MAX_COUNT}.",
    )
    gamma: float = Field(
        default=0.1, gt=0.0, le=1.0, description="Decay factor in (0, 1] (step, multistep, exp)."
    )
    min_lr: float = Field(default=0.0, ge=0.0, description="Floor for cosine-type schedules.")
    max_lr: float | None = Field(default=None, gt=0.0, description="onecycle peak (default: lr).")
    patience: int = Field(
        default=3, ge=0, le=MAX_COUNT, description="plateau: epochs without improvement."
    )
    factor: float = Field(default=0.5, gt=0.0, lt=1.0, description="plateau: decay factor.")


class EarlyStoppingConfig(ConfigModel):
    """Stop when a validation metric stops improving."""

    metric: str = Field(
        default="val_loss",
        description="Metric to watch: one the trainer reports ("
        + ", ".join(REPORTED_METRICS)
        + ").",
    )
    mode: Literal["auto", "min", "max"] = Field(
        default="auto", description="min for losses, max for accuracies; auto guesses by name."
    )
    patience: int = Field(
        default=5, ge=1, le=MAX_COUNT, description="Evaluations without improvement allowed."
    )
    min_delta: float = Field(default=0.0, ge=0.0, description="Smallest change that counts.")

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if value not in REPORTED_METRICS:
            raise ValueError(
                f"{value!r} is not a metric the trainer reports; use one of "
                + ", ".join(REPORTED_METRICS)
            )
        return value


class CheckpointConfig(ConfigModel):
    """When and how many checkpoints the trainer writes."""

    every_steps: int | None = Field(
        default=None,
        ge=1,
        le=MAX_COUNT,
        description="Save every N optimizer steps (default: every epoch).",
    )
    keep_last: int = Field(default=2, ge=1, le=1000, description="How many checkpoints to keep.")
    resume: bool = Field(default=True, description="Resume from the latest checkpoint if present.")


class PerformanceConfig(ConfigModel):
    """Speed settings; each one's effect on a run is recorded in its summary.json."""

    tf32: bool = Field(
        default=True,
        description="Let fp32 matmuls and convolutions use TF32 tensor cores (CUDA, Ampere "
        "and newer); false keeps full fp32 precision.",
    )
    cudnn_benchmark: bool | Literal["auto"] = Field(
        default="auto",
        description="Let cuDNN time its kernels for the batch shape and keep the fastest; "
        "auto: on for CUDA unless deterministic (the trainer's batches have fixed shapes).",
    )
    channels_last: bool | Literal["auto"] = Field(
        default="auto",
        description="Channels-last memory format for convolutional models; auto: on for "
        "cnn and resnet on CUDA.",
    )
    prefetch: bool | Literal["auto"] = Field(
        default="auto",
        description="Prepare the next batch on a background thread while a step runs; auto: "
        "on when the data is not resident on the device (CUDA, data over 2 GiB).",
    )
    background_checkpoints: bool = Field(
        default=True,
        description="Write checkpoints on a background thread from a host copy taken at a "
        "step boundary; training waits only if the previous write is unfinished.",
    )


class TrainConfig(ConfigModel):
    """Everything the trainer needs; the job spec's ``trainer:`` block."""

    model: ModelConfig = Field(default_factory=ModelConfig, description="The network.")
    data: DataConfig = Field(default_factory=DataConfig, description="The data.")
    optimizer: OptimizerConfig = Field(
        default_factory=OptimizerConfig, description="The optimizer."
    )
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig, description="Learning-rate schedule."
    )
    epochs: int = Field(
        default=10, ge=1, le=MAX_COUNT, description="Passes over the training data."
    )
    max_steps: int | None = Field(
        default=None, ge=1, le=MAX_COUNT, description="Stop after this many optimizer steps."
    )
    batch_size: int = Field(
        default=64,
        ge=1,
        le=MAX_COUNT,
        description="Per-process mini-batch size; equal to the dataset size gives batch GD, "
        "1 gives stochastic GD.",
    )
    grad_accum_steps: int = Field(
        default=1, ge=1, le=MAX_COUNT, description="Micro-batches per optimizer step."
    )
    clip_grad_norm: float | None = Field(default=None, gt=0.0, description="Max global grad norm.")
    clip_grad_value: float | None = Field(default=None, gt=0.0, description="Max |grad| element.")
    precision: Literal["fp32", "fp16", "bf16"] = Field(
        default="fp32", description="fp32, fp16 (CUDA, with GradScaler) or bf16 autocast."
    )
    early_stopping: EarlyStoppingConfig | None = Field(
        default=None, description="Early stopping; off when absent."
    )
    checkpoint: CheckpointConfig = Field(
        default_factory=CheckpointConfig, description="Checkpoint cadence and retention."
    )
    max_bad_steps: int = Field(
        default=5,
        ge=0,
        le=MAX_COUNT,
        description="Non-finite loss/grad steps skipped before the run stops.",
    )
    log_every_steps: int = Field(
        default=10, ge=1, le=MAX_COUNT, description="Log a line every N steps."
    )
    eval_every_epochs: int = Field(
        default=1, ge=1, le=MAX_COUNT, description="Validate every N epochs."
    )
    device: Literal["auto", "cpu", "cuda", "tpu"] = Field(
        default="auto", description="Where to train; auto picks CUDA, then TPU, then CPU."
    )
    deterministic: bool = Field(
        default=False, description="Force deterministic kernels (slower; exact resumes on GPU)."
    )
    num_threads: int | None = Field(
        default=None, ge=1, le=MAX_THREADS, description="torch CPU threads."
    )
    compile: bool | Literal["auto"] = Field(
        default="auto",
        description="torch.compile the model (faster steps after a slow first one); auto: "
        "on for built-in models on CUDA when the run plans at least 2000 optimizer steps, "
        "enough to repay the compile time.",
    )
    performance: PerformanceConfig = Field(
        default_factory=PerformanceConfig,
        description="Speed settings (TF32, cuDNN autotuning, channels-last, prefetch, "
        "background checkpoints).",
    )
    seed: int = Field(
        default=0, ge=0, le=MAX_SEED, description="Seed for data order, init and dropout."
    )

    @model_validator(mode="after")
    def _checks(self) -> TrainConfig:
        if self.optimizer.name == "lbfgs" and self.grad_accum_steps != 1:
            raise ValueError("optimizer lbfgs does not support grad_accum_steps > 1")
        if (self.model.kind == "huggingface") != (self.data.source == "text_csv"):
            raise ValueError(
                "model.kind=huggingface and data.source=text_csv go together: the model "
                "needs token ids, and text needs a tokenizer"
            )
        if self.precision == "fp16" and self.device in ("cpu", "tpu"):
            raise ValueError("precision fp16 needs a CUDA device; use bf16 on cpu/tpu")
        if self.deterministic and self.performance.cudnn_benchmark is True:
            raise ValueError(
                "performance.cudnn_benchmark: true picks kernels by timing, which "
                "deterministic: true forbids; set one of them to false (or auto)"
            )
        self._check_metric()
        return self

    def _check_metric(self) -> None:
        """The watched metric must be one this job's task reports."""
        if self.early_stopping is None or self.early_stopping.metric in TRAIN_METRICS:
            return
        task = declared_task(self.data, self.model.kind)
        if task is None:
            return
        reported = TRAIN_METRICS + VALIDATION_METRICS[task]
        if self.early_stopping.metric not in reported:
            raise ValueError(
                f"early_stopping.metric: a {task} job does not report "
                f"{self.early_stopping.metric!r}; use one of " + ", ".join(reported)
            )

"""TrainConfig: what the trainer does. Torch-free, because the job spec embeds it.

This block *is* the ``trainer:`` section of a cloudgd job spec.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")

ModelKind = Literal[
    "linear", "logistic", "softmax", "mlp", "cnn", "resnet", "custom", "huggingface"
]
DataSource = Literal[
    "digits", "synthetic_regression", "synthetic_classification", "csv", "npz", "text_csv"
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


class ModelConfig(BaseModel):
    """The network to train."""

    model_config = _FROZEN

    kind: ModelKind = Field(default="mlp", description="Model family.")
    hidden: list[int] = Field(
        default_factory=lambda: [128, 64],
        description="Hidden layer widths (mlp) or channel widths per stage (cnn, resnet).",
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
        if self.kind == "custom" and self.entrypoint and ":" not in self.entrypoint:
            raise ValueError("model.entrypoint must look like 'module:function'")
        if self.kind == "huggingface" and not self.name:
            raise ValueError("model.kind=huggingface needs model.name")
        if any(h < 1 for h in self.hidden):
            raise ValueError("model.hidden widths must be >= 1")
        return self


class DataConfig(BaseModel):
    """Where the training data comes from and how it is split."""

    model_config = _FROZEN

    source: DataSource = Field(default="digits", description="Data source.")
    uri: str | None = Field(
        default=None,
        description="csv/npz/text_csv: a file or directory (local path, s3://, gs://, azureml://). "
        "On a cloud it becomes an input channel mounted into the container.",
    )
    target: str = Field(
        default="label", description="Target column (csv, text_csv) or npz key 'y'."
    )
    text_column: str = Field(default="text", description="Text column for text_csv.")
    task: Literal["auto", "classification", "regression"] = Field(
        default="auto", description="Learning task; auto infers it from the source and target."
    )
    n_samples: int = Field(default=1000, ge=2, description="Synthetic sources: number of samples.")
    n_features: int = Field(default=20, ge=1, description="Synthetic sources: number of features.")
    n_classes: int = Field(default=2, ge=2, description="synthetic_classification: classes.")
    noise: float = Field(default=0.1, ge=0.0, description="Synthetic sources: noise level.")
    val_fraction: float = Field(
        default=0.2, ge=0.0, lt=1.0, description="Fraction held out for validation."
    )
    standardize: bool = Field(default=True, description="Standardise features with train stats.")
    max_length: int = Field(default=128, ge=8, description="text_csv: max tokens per example.")
    limit: int | None = Field(
        default=None, ge=2, description="Use at most this many rows (quick local runs)."
    )

    @model_validator(mode="after")
    def _uri_needed(self) -> DataConfig:
        if self.source in ("csv", "npz", "text_csv") and not self.uri:
            raise ValueError(f"data.source={self.source} needs data.uri")
        return self


class OptimizerConfig(BaseModel):
    """The gradient-descent update rule."""

    model_config = _FROZEN

    name: OptimizerName = Field(default="adamw", description="Optimizer.")
    lr: float = Field(default=1e-3, gt=0.0, description="Base learning rate.")
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0, description="SGD/RMSprop momentum.")
    nesterov: bool = Field(default=False, description="Nesterov momentum (SGD).")
    weight_decay: float = Field(default=0.0, ge=0.0, description="L2 penalty / decoupled decay.")
    l1: float = Field(default=0.0, ge=0.0, description="L1 penalty added to the loss.")
    betas: tuple[float, float] = Field(default=(0.9, 0.999), description="Adam/AdamW betas.")
    eps: float = Field(default=1e-8, gt=0.0, description="Numerical epsilon.")
    lbfgs_history: int = Field(default=10, ge=1, description="L-BFGS history size.")
    lr_scaling: Literal["none", "linear", "sqrt"] = Field(
        default="none",
        description="Scale lr with the global batch (batch_size x world x accumulation) "
        "relative to base_batch_size.",
    )
    base_batch_size: int = Field(default=64, ge=1, description="Reference batch for lr_scaling.")

    @model_validator(mode="after")
    def _nesterov(self) -> OptimizerConfig:
        if self.nesterov and (self.name != "sgd" or self.momentum <= 0):
            raise ValueError("optimizer.nesterov needs name=sgd and momentum > 0")
        return self


class ScheduleConfig(BaseModel):
    """How the learning rate changes over training."""

    model_config = _FROZEN

    name: ScheduleName = Field(default="constant", description="Schedule.")
    warmup_steps: int = Field(default=0, ge=0, description="Linear warmup steps (any schedule).")
    step_size: int = Field(default=10, ge=1, description="step: epochs between decays.")
    milestones: list[int] = Field(default_factory=list, description="multistep: decay epochs.")
    gamma: float = Field(default=0.1, gt=0.0, description="Decay factor (step, multistep, exp).")
    min_lr: float = Field(default=0.0, ge=0.0, description="Floor for cosine-type schedules.")
    max_lr: float | None = Field(default=None, gt=0.0, description="onecycle peak (default: lr).")
    patience: int = Field(default=3, ge=0, description="plateau: epochs without improvement.")
    factor: float = Field(default=0.5, gt=0.0, lt=1.0, description="plateau: decay factor.")


class EarlyStoppingConfig(BaseModel):
    """Stop when a validation metric stops improving."""

    model_config = _FROZEN

    metric: str = Field(default="val_loss", description="Metric to watch, e.g. val_loss.")
    mode: Literal["auto", "min", "max"] = Field(
        default="auto", description="min for losses, max for accuracies; auto guesses by name."
    )
    patience: int = Field(default=5, ge=1, description="Evaluations without improvement allowed.")
    min_delta: float = Field(default=0.0, ge=0.0, description="Smallest change that counts.")


class CheckpointConfig(BaseModel):
    """When and how many checkpoints the trainer writes."""

    model_config = _FROZEN

    every_steps: int | None = Field(
        default=None, ge=1, description="Save every N optimizer steps (default: every epoch)."
    )
    keep_last: int = Field(default=2, ge=1, description="How many checkpoints to keep.")
    resume: bool = Field(default=True, description="Resume from the latest checkpoint if present.")


class PerformanceConfig(BaseModel):
    """Speed settings; each one's effect on a run is recorded in its summary.json."""

    model_config = _FROZEN

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


class TrainConfig(BaseModel):
    """Everything the trainer needs; the job spec's ``trainer:`` block."""

    model_config = _FROZEN

    model: ModelConfig = Field(default_factory=ModelConfig, description="The network.")
    data: DataConfig = Field(default_factory=DataConfig, description="The data.")
    optimizer: OptimizerConfig = Field(
        default_factory=OptimizerConfig, description="The optimizer."
    )
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig, description="Learning-rate schedule."
    )
    epochs: int = Field(default=10, ge=1, description="Passes over the training data.")
    max_steps: int | None = Field(
        default=None, ge=1, description="Stop after this many optimizer steps."
    )
    batch_size: int = Field(
        default=64,
        ge=1,
        description="Per-process mini-batch size; equal to the dataset size gives batch GD, "
        "1 gives stochastic GD.",
    )
    grad_accum_steps: int = Field(default=1, ge=1, description="Micro-batches per optimizer step.")
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
        default=5, ge=0, description="Non-finite loss/grad steps skipped before the run stops."
    )
    log_every_steps: int = Field(default=10, ge=1, description="Log a line every N steps.")
    eval_every_epochs: int = Field(default=1, ge=1, description="Validate every N epochs.")
    device: Literal["auto", "cpu", "cuda", "tpu"] = Field(
        default="auto", description="Where to train; auto picks CUDA, then TPU, then CPU."
    )
    deterministic: bool = Field(
        default=False, description="Force deterministic kernels (slower; exact resumes on GPU)."
    )
    num_threads: int | None = Field(default=None, ge=1, description="torch CPU threads.")
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
    seed: int = Field(default=0, ge=0, description="Seed for data order, init and dropout.")

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
        return self

"""DataConfig: the ``trainer.data`` block (where the training data comes from). Torch-free.

Its own module because the data sources grow independently of the rest of the trainer's
configuration; :mod:`trainers.config` re-exports every name here.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from trainers.config_base import (
    _ENTRYPOINT,
    MAX_CELLS,
    MAX_CLASSES,
    MAX_COUNT,
    MAX_FEATURES,
    MAX_SAMPLES,
    MAX_TOKENS,
    ConfigModel,
    Task,
    has_control_characters,
)

DataSource = Literal[
    "digits",
    "synthetic_regression",
    "synthetic_classification",
    "csv",
    "npz",
    "text_csv",
    "parquet",
    "jsonl",
    "image_folder",
    "custom",
]
# Sources read from data.uri (a file or a directory, mounted as an input channel on a cloud).
URI_SOURCES = ("csv", "npz", "text_csv", "parquet", "jsonl", "image_folder")
MAX_IMAGE_SIDE = 1024
MAX_LOADER_WORKERS = 64

# ---- streaming (data.mode) ------------------------------------------------------------
# Sources whose files can be read a piece at a time (Parquet row groups).
STREAMABLE_SOURCES: tuple[str, ...] = ("parquet",)
# data.mode=auto streams a streamable source whose data.size_gb is at least this: a
# typical training machine holds a few times that in memory, and a download of it
# delays the first step by minutes.
STREAM_ABOVE_GB = 8.0
MAX_SHUFFLE_BUFFER = 10_000_000


def synthetic_informative(n_features: int, n_classes: int) -> int:
    """How many features carry the class of a synthetic_classification row."""
    return min(n_features, max(2, math.ceil(math.log2(n_classes)) + 1))


def declared_task(data: DataConfig, model_kind: str) -> Task | None:
    """The task known before the data is read (data.task, the source, the model), else None."""
    if data.task != "auto":
        return data.task
    if data.source in ("digits", "synthetic_classification", "image_folder"):
        return "classification"
    if data.source == "synthetic_regression":
        return "regression"
    if model_kind in ("logistic", "softmax"):
        return "classification"
    if model_kind == "linear":
        return "regression"
    return None


class DataStats(ConfigModel):
    """Per-feature statistics to standardise a streamed source with (no extra pass)."""

    mean: list[float] = Field(description="Mean of each feature column, in column order.")
    std: list[float] = Field(description="Standard deviation of each feature column (> 0).")

    @model_validator(mode="after")
    def _same_length(self) -> DataStats:
        if len(self.mean) != len(self.std) or not self.mean:
            raise ValueError(
                f"data.stats: mean has {len(self.mean)} values and std {len(self.std)}; "
                "give one of each per feature column"
            )
        if not all(math.isfinite(v) for v in self.mean):
            raise ValueError("data.stats.mean: every value must be finite")
        if not all(math.isfinite(v) and v > 0 for v in self.std):
            raise ValueError("data.stats.std: every value must be finite and > 0")
        return self


def resolved_mode(data: DataConfig) -> Literal["download", "stream"]:
    """``download`` (load into memory) or ``stream`` (read lazily); ``auto`` streams a
    streamable source only when data.size_gb says it is big."""
    if data.mode != "auto":
        return data.mode
    big = data.size_gb is not None and data.size_gb >= STREAM_ABOVE_GB
    return "stream" if big and data.source in STREAMABLE_SOURCES else "download"


class DataConfig(ConfigModel):
    """Where the training data comes from and how it is split."""

    source: DataSource = Field(default="digits", description="Data source.")
    uri: str | None = Field(
        default=None,
        description="csv/npz/text_csv/parquet/jsonl/image_folder: a file or directory (local "
        "path, s3://, gs://, azureml://). On a cloud it becomes an input channel mounted into "
        "the container.",
    )
    target: str = Field(
        default="label",
        description="Target column (csv, parquet, text_csv), key (jsonl) or npz key 'y'.",
    )
    text_column: str = Field(default="text", description="Text column for text_csv.")
    task: Literal["auto", "classification", "regression"] = Field(
        default="auto", description="Learning task; auto infers it from the source and target."
    )
    n_samples: int = Field(
        default=1000,
        ge=2,
        le=MAX_SAMPLES,
        description="Synthetic sources: number of samples (n_samples x n_features at most "
        f"{MAX_CELLS}).",
    )
    n_features: int = Field(
        default=20, ge=1, le=MAX_FEATURES, description="Synthetic sources: number of features."
    )
    n_classes: int = Field(
        default=2,
        ge=2,
        le=MAX_CLASSES,
        description="synthetic_classification: classes (at most 2^n_features).",
    )
    noise: float = Field(default=0.1, ge=0.0, description="Synthetic sources: noise level.")
    val_fraction: float = Field(
        default=0.2, ge=0.0, lt=1.0, description="Fraction held out for validation."
    )
    standardize: bool = Field(default=True, description="Standardise features with train stats.")
    max_length: int = Field(
        default=128, ge=8, le=MAX_TOKENS, description="text_csv: max tokens per example."
    )
    limit: int | None = Field(
        default=None,
        ge=2,
        le=MAX_COUNT,
        description="Use at most this many rows (quick local runs).",
    )
    entrypoint: str | None = Field(
        default=None,
        description="For source=custom (implied when only this is given): 'module:function' in "
        "the job's code dir returning a torch Dataset or IterableDataset of (features, target) "
        "pairs; called with **data.args. Read into memory once.",
    )
    args: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for data.entrypoint."
    )
    image_size: int = Field(
        default=64,
        ge=8,
        le=MAX_IMAGE_SIDE,
        description="image_folder: images are resized to image_size x image_size pixels.",
    )
    image_mode: Literal["RGB", "L"] = Field(
        default="RGB", description="image_folder: RGB (3 channels) or L (grayscale, 1 channel)."
    )
    workers: int | None = Field(
        default=None,
        ge=0,
        le=MAX_LOADER_WORKERS,
        description="DataLoader worker processes. image_folder/custom: they decode samples "
        "while loading (null: up to 8, by CPU count and data size; 0: in the trainer's "
        "process). stream: they read ahead (null or 0: one thread in the training process).",
    )

    @model_validator(mode="before")
    @classmethod
    def _entrypoint_implies_custom(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("entrypoint") and "source" not in data:
            return {**data, "source": "custom"}
        return data

    # ---- streaming (trainers/stream*.py) --------------------------------------------
    mode: Literal["auto", "download", "stream"] = Field(
        default="auto",
        description="download: read the whole source into memory; stream: read Parquet row "
        "groups lazily (data larger than memory; the clouds stream the input too: SageMaker "
        "FastFile, Vertex /gcs FUSE, Azure ro_mount); auto: stream a parquet source when "
        f"data.size_gb >= {STREAM_ABOVE_GB:g}, else download.",
    )
    size_gb: float | None = Field(
        default=None,
        ge=0,
        description="Approximate size of the data in GB; data.mode=auto streams above "
        f"{STREAM_ABOVE_GB:g}.",
    )
    shuffle_buffer: int = Field(
        default=65_536,
        ge=1,
        le=MAX_SHUFFLE_BUFFER,
        description="stream: rows shuffled together (the window held in memory per reader); "
        "row groups are shuffled too.",
    )
    stats: DataStats | None = Field(
        default=None,
        description="stream: feature mean/std to standardise with; without it one streaming "
        "pass over the training rows computes them.",
    )

    @model_validator(mode="after")
    def _streamable(self) -> DataConfig:
        if self.mode == "stream" and self.source not in STREAMABLE_SOURCES:
            raise ValueError(
                f"data.mode: stream reads {'/'.join(STREAMABLE_SOURCES)} files, and "
                f"data.source={self.source} is loaded into memory: use data.mode: download, "
                "or convert the data to Parquet"
            )
        if self.stats is not None and not self.standardize:
            raise ValueError("data.stats: given but data.standardize is false; drop one")
        if self.stats is not None and resolved_mode(self) == "download":
            raise ValueError(
                "data.stats: only a streamed source uses them, and this one is loaded into "
                "memory (data.mode resolves to download): set data.mode: stream, or drop them"
            )
        return self

    @model_validator(mode="after")
    def _uri_needed(self) -> DataConfig:
        if self.source in URI_SOURCES and not self.uri:
            raise ValueError(f"data.source={self.source} needs data.uri")
        if self.source == "custom" and not self.entrypoint:
            raise ValueError("data.source=custom needs data.entrypoint ('module:function')")
        if self.entrypoint is not None and self.source != "custom":
            raise ValueError(
                f"data.entrypoint is for data.source=custom (data.source is {self.source})"
            )
        if self.entrypoint is not None and not _ENTRYPOINT.match(self.entrypoint):
            raise ValueError(
                f"data.entrypoint must look like 'module:function' (got {self.entrypoint!r})"
            )
        if self.source == "custom" and self.uri:
            raise ValueError(
                "data.uri is not read for data.source=custom: the entrypoint loads the data "
                "(pass a path through data.args)"
            )
        for name in ("uri", "target", "text_column", "entrypoint"):
            value = getattr(self, name)
            if value is not None and has_control_characters(value):
                raise ValueError(f"data.{name} contains a control character: {value!r}")
        cells = self.n_samples * self.n_features
        if self.source.startswith("synthetic_") and cells > MAX_CELLS:
            raise ValueError(
                f"data.n_samples x data.n_features = {cells}, more than {MAX_CELLS} values"
            )
        if self.source == "synthetic_classification":
            informative = synthetic_informative(self.n_features, self.n_classes)
            if 2**informative < self.n_classes:
                raise ValueError(
                    f"data.n_features={self.n_features} is too few for "
                    f"n_classes={self.n_classes}: use n_features >= "
                    f"{math.ceil(math.log2(self.n_classes))}"
                )
        return self

"""The base of every trainer config block and the bounds and metric names they share.

Torch-free, like trainers/config.py, which re-exports these names: cloudgd's validation
reads the same bounds and metric lists as the trainer, so a spec that validates runs.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")

# Upper bounds, documented in `cloudgd schema`. Counts past these only reach C integer
# overflow or memory exhaustion inside the trainer, so they are refused at validate time.
MAX_COUNT = 2**31 - 1  # epochs, steps, batch sizes, patiences: torch indexes with int64/int32
MAX_SEED = 2**32 - 1  # numpy's legacy seeding (np.random.seed) takes 32 bits
MAX_SAMPLES = 10_000_000
MAX_FEATURES = 100_000
MAX_CELLS = 100_000_000  # n_samples x n_features of a synthetic source: 800 MB of float64
MAX_CLASSES = 10_000
MAX_WIDTH = 16_384
# model.args keys of kind=huggingface (trainers/hf.py); cloudgd validate checks them too.
HF_ARG_KEYS = frozenset({"pretrained", "tokenizer", "revision", "config"})
MAX_LAYERS = 64
MAX_HIDDEN_WEIGHTS = 2**28  # weights between consecutive hidden layers: 1 GiB of fp32
MAX_THREADS = 1024
MAX_TOKENS = 65_536

Task = Literal["classification", "regression"]
# The metrics the trainer reports (metrics.jsonl epoch records, summary.json's final and
# best): the training loss always, then the validation metrics of the task
# (trainers/objective.py). Early stopping, best-model selection, tuning objectives and CI
# gates can only watch these; tests check the trainer really reports exactly them.
TRAIN_METRICS: tuple[str, ...] = ("loss",)
VALIDATION_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("val_loss", "val_accuracy"),
    "regression": ("val_loss", "val_mse", "val_r2"),
}
REPORTED_METRICS: tuple[str, ...] = (
    "loss",
    "val_loss",
    "val_accuracy",
    "val_mse",
    "val_r2",
)

# Run-level numbers in summary.json (trainers/outputs.py) besides the metrics above; CI
# gates may check these too (e.g. --max-metric bad_steps=0), and best_* the best evaluation.
SUMMARY_NUMBERS: tuple[str, ...] = (
    "steps",
    "epochs",
    "planned_steps",
    "wall_time_s",
    "train_time_s",
    "samples_per_sec",
    "data_wait_fraction",
    "world_size",
    "global_batch",
    "base_lr",
    "final_lr",
    "bad_steps",
    "grad_warnings",
    "resumed_from_step",
    "num_parameters",
    "seed",
    "best_value",
    "best_step",
    "best_epoch",
)


def _leaf_types(annotation: Any) -> set[Any]:
    origin = typing.get_origin(annotation)
    if origin is None:
        return {annotation}
    if origin is Literal:
        return {type(arg) for arg in typing.get_args(annotation)}
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset):
        return set().union(*(_leaf_types(a) for a in typing.get_args(annotation) if a is not ...))
    return {Any}  # mappings and other containers: not checked here


def _wants_numbers(annotation: Any) -> bool:
    leaves = _leaf_types(annotation)
    return bool(leaves & {int, float}) and not leaves & {bool, Any, str}


# 'package.module:function', as the trainer imports it from the job's code directory.
_ENTRYPOINT = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)


def has_control_characters(text: str) -> bool:
    """Line breaks, tabs, escapes and other C0/C1 controls: never part of a path or name."""
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text)


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in typing.get_args(annotation))


def _nul_at(value: Any) -> str | None:
    """Where a NUL byte is in a field's raw value ('' for the value itself), else None.

    Looks one level of list or mapping deep: text fields, lists of text and env-like maps.
    """
    if isinstance(value, str):
        return "" if "\x00" in value else None
    if isinstance(value, dict):
        pairs: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = [(f"item {index}", item) for index, item in enumerate(value)]
    else:
        return None
    for key, item in pairs:
        if any(isinstance(part, str) and "\x00" in part for part in (key, item)):
            return repr(key) if isinstance(value, dict) else str(key)
    return None


class ConfigModel(BaseModel):
    """Base of every spec block: frozen, no unknown fields, no booleans as numbers, no NULs.

    Pydantic reads ``true`` as 1 for an int field; in a job file ``epochs: true`` is a
    mistake, never a count. A NUL byte cannot travel in an environment variable, an
    argument or a cloud request, so no text in a spec may hold one.
    """

    model_config = _FROZEN

    @field_validator("*", mode="before")
    @classmethod
    def _plain_values(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        items = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(item, bool) for item in items) and _wants_numbers(annotation):
            raise ValueError(f"expected a number, not {str(value).lower()}")
        # A nested block is checked field by field, where the error can name the field.
        where = None if _holds_model(annotation) else _nul_at(value)
        if where is not None:
            what = f"{where} contains" if where else "contains"
            raise ValueError(f"{what} a NUL byte (\\x00), which no text in a job may hold")
        return value

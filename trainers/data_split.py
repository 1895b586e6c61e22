"""The split of loaded rows into training and validation sets, standardised, as tensors.

The rows are never copied into split order: the features stay where the reader put
them (standardised in place, block by block, when they are float32 already) and both
splits are indices into them (``train_rows``, ``val_rows``), so a load's peak stays
near one float32 copy of the data. The indices are exactly the ones a permuted copy
would have had, so training sees the same rows in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from trainers.config import DataConfig
from trainers.errors import DataError
from trainers.heap import release_free_memory

Task = Literal["classification", "regression"]
_BLOCK_ROWS = 1 << 12  # rows per block when computing statistics and standardising


@dataclass
class Dataset:
    """Tensors ready for training, and what a model needs to know about them.

    ``x_all``/``y_all`` hold the rows as loaded. The training split is the rows
    ``train_rows`` of them (all of them when None); the validation split is the rows
    ``val_rows`` of them, or ``val_x``/``val_y`` when it came from elsewhere (a
    validation channel, or a source that builds its splits itself).
    """

    x_all: torch.Tensor
    y_all: torch.Tensor
    task: Task
    input_shape: tuple[int, ...]
    num_outputs: int
    classes: list[str] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    train_rows: torch.Tensor | None = None
    val_rows: torch.Tensor | None = None
    val_x: torch.Tensor | None = None
    val_y: torch.Tensor | None = None
    # (train, val) rows of the whole split when this holds one DDP rank's shard of it
    split_sizes: tuple[int, int] | None = None

    @property
    def n_train(self) -> int:
        if self.split_sizes is not None:
            return self.split_sizes[0]
        return int(self.x_all.shape[0] if self.train_rows is None else self.train_rows.shape[0])

    @property
    def n_val(self) -> int:
        if self.split_sizes is not None:
            return self.split_sizes[1]
        if self.val_x is not None:
            return int(self.val_x.shape[0])
        return 0 if self.val_rows is None else int(self.val_rows.shape[0])

    @property
    def x_train(self) -> torch.Tensor:
        """The training features in split order (a gathered copy when ``train_rows`` is set)."""
        return self.x_all if self.train_rows is None else self.x_all[self.train_rows]

    @property
    def y_train(self) -> torch.Tensor:
        """The training targets in split order."""
        return self.y_all if self.train_rows is None else self.y_all[self.train_rows]

    @property
    def x_val(self) -> torch.Tensor | None:
        """The validation features (a gathered copy when ``val_rows`` is set), or None."""
        if self.val_x is not None or self.n_val == 0:
            return self.val_x
        assert self.val_rows is not None
        return self.x_all[self.val_rows]

    @property
    def y_val(self) -> torch.Tensor | None:
        """The validation targets, or None."""
        if self.val_y is not None or self.n_val == 0:
            return self.val_y
        assert self.val_rows is not None
        return self.y_all[self.val_rows]


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Class indices (sorted class names) for any label values."""
    y = y.reshape(-1)
    values = np.unique(y)
    # searchsorted, not unique's return_inverse: one output array instead of a full sort's
    index = np.searchsorted(values, y).astype(np.int64, copy=False)
    names = [
        str(int(v)) if y.dtype.kind == "f" and float(v).is_integer() else str(v) for v in values
    ]
    return index, names


def _block_sums(x: np.ndarray, rows: np.ndarray | None, mean: np.ndarray | None) -> np.ndarray:
    """Sum over the rows (all of ``x`` when ``rows`` is None) of x, or of (x - mean)^2,
    in float64, a block at a time."""
    total = np.zeros(x.shape[1:], dtype=np.float64)
    count = len(x) if rows is None else len(rows)
    for a in range(0, count, _BLOCK_ROWS):
        block = x[a : a + _BLOCK_ROWS] if rows is None else x[rows[a : a + _BLOCK_ROWS]]
        if mean is None:
            total += block.sum(axis=0, dtype=np.float64)
            continue
        deviation = block.astype(np.float64)
        deviation -= mean
        total += np.square(deviation, out=deviation).sum(axis=0)
    return total


def train_statistics(
    x: np.ndarray, held_out: np.ndarray, n_train: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (float64, a constant feature's std set to 1) of the
    rows of ``x`` other than ``held_out``: sums over all rows (contiguous blocks) less
    the held-out rows' sums, so the training split is never gathered."""
    held = np.sort(held_out)
    total = _block_sums(x, None, None) - (_block_sums(x, held, None) if len(held) else 0.0)
    mean = total / n_train
    squares = _block_sums(x, None, mean) - (_block_sums(x, held, mean) if len(held) else 0.0)
    std = np.sqrt(np.maximum(squares, 0.0) / n_train)
    return mean, np.where(std > 1e-12, std, 1.0)


def as_float32(
    x: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None
) -> np.ndarray:
    """``x`` as a C-contiguous float32 array, standardised when ``mean``/``std`` are given:
    in place when ``x`` is already float32, block by block (in float64) either way."""
    in_place = x.dtype == np.float32 and x.flags.c_contiguous and x.flags.writeable
    if mean is None or std is None:
        return x if in_place else np.ascontiguousarray(x, dtype=np.float32)
    out = x if in_place else np.empty(x.shape, dtype=np.float32)
    for a in range(0, len(x), _BLOCK_ROWS):
        block = x[a : a + _BLOCK_ROWS].astype(np.float64)
        block -= mean
        block /= std
        out[a : a + _BLOCK_ROWS] = block
    return out


def _as_images(x: np.ndarray) -> np.ndarray:
    return x[:, None] if x.ndim == 3 else x


def encode_targets(
    task: Task, y: np.ndarray, val_y: np.ndarray | None, target: str, names: list[str] | None
) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """(every row's target encoded, the validation channel's, class names); ``names``:
    the source's own class names, which its integer labels index."""
    if task == "classification" and names is not None:
        val = None if val_y is None else val_y.astype(np.int64)
        return y.reshape(-1).astype(np.int64), val, names
    if task == "classification":
        both = y.reshape(-1) if val_y is None else np.concatenate([y.reshape(-1), val_y])
        encoded, classes = encode_labels(both)
        release_free_memory()
        return encoded[: len(y)], (None if val_y is None else encoded[len(y) :]), classes
    if y.dtype.kind in "USO":
        raise DataError(f"data.target {target!r} is not numeric; regression needs numbers")
    val = None if val_y is None else val_y.reshape(len(val_y), -1).astype(np.float32)
    return y.reshape(len(y), -1).astype(np.float32), val, None


def split_dataset(
    cfg: DataConfig,
    seed: int,
    x: np.ndarray,
    y: np.ndarray,
    val: tuple[np.ndarray, np.ndarray] | None,
    task_of: Callable[[np.ndarray], Task],
    classes: list[str] | None = None,
) -> Dataset:
    """Seeded split (or ``val``, a separate validation set), train statistics, tensors.

    ``task_of(y)`` decides the task from the targets of the rows in use.
    """
    x, y = _as_images(np.asarray(x)), np.asarray(y)
    n = x.shape[0]
    if y.shape[0] != n:
        raise DataError(f"data: {n} feature rows but {y.shape[0]} targets")
    order = np.random.default_rng(seed).permutation(n)
    if cfg.limit is not None and cfg.limit < n:
        x, y = x[order[: cfg.limit]], y[order[: cfg.limit]]
        order = np.arange(cfg.limit)
    # y now holds exactly the rows in use, so what is read from it needs no reordering
    task = task_of(y)
    val_x = None if val is None else _as_images(np.asarray(val[0]))
    val_targets = None if val is None else np.asarray(val[1])
    y, val_y, classes = encode_targets(task, y, val_targets, cfg.target, classes)
    n_val = 0 if val is not None else round(len(order) * cfg.val_fraction)
    train_rows, val_rows = order[n_val:], order[:n_val]
    if len(train_rows) == 0:
        raise DataError("data: no training rows left after the validation split")
    mean = std = None
    if cfg.standardize:
        # order covers every row of x (after the limit), so the rest of x is the training split
        mean_arr, std_arr = train_statistics(x, val_rows, len(train_rows))
        x = as_float32(x, mean_arr, std_arr)
        if val_x is not None:
            val_x = as_float32(val_x, mean_arr, std_arr)
        mean, std = mean_arr.reshape(-1).tolist(), std_arr.reshape(-1).tolist()
    else:
        x = as_float32(x)
    y_dtype = torch.int64 if task == "classification" else torch.float32
    has_val = val_x is not None and len(val_x) > 0
    return Dataset(
        x_all=torch.from_numpy(x),
        y_all=torch.as_tensor(y, dtype=y_dtype),
        task=task,
        input_shape=tuple(int(d) for d in x.shape[1:]),
        num_outputs=len(classes) if classes is not None else int(y.shape[1]),
        classes=classes,
        mean=mean,
        std=std,
        meta={"source": cfg.source, "rows": len(order)},
        train_rows=torch.from_numpy(train_rows),
        val_rows=torch.from_numpy(val_rows) if val is None and n_val else None,
        val_x=torch.from_numpy(as_float32(val_x)) if has_val and val_x is not None else None,
        val_y=torch.as_tensor(val_y, dtype=y_dtype) if has_val and val_y is not None else None,
    )

"""What a streamed source needs known before training: the task, the label set and the
feature statistics, each found in one pass that reads only the columns it needs.

The label pass reads the target column alone (Parquet is columnar, so it costs a small
fraction of a full read). The statistics pass reads the training rows once, each rank
a share of the pieces, and sums (count, shifted sum, shifted sum of squares) in float64
across ranks; ``data.stats`` in the spec skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from trainers.config_data import DataConfig
from trainers.distributed import all_reduce_sum
from trainers.errors import DataError
from trainers.stream_index import ParquetIndex, Piece, PieceReader, _pq

_MAX_CLASSES_AUTO = 50  # as the in-memory loader: more distinct integers is regression
_STD_FLOOR = 1e-12


@dataclass(frozen=True)
class Labels:
    """How raw targets become training targets."""

    task: str
    values: np.ndarray | None  # sorted distinct raw labels (classification)
    classes: list[str] | None

    def encode(self, y: np.ndarray) -> np.ndarray:
        if self.values is None:
            if y.dtype.kind in "USO":
                raise DataError("data.target is not numeric; regression needs numbers")
            return y.astype(np.float32).reshape(-1, 1)
        codes = np.searchsorted(self.values, y)
        codes = np.minimum(codes, len(self.values) - 1)
        bad = self.values[codes] != y
        if bad.any():
            raise DataError(f"data: label {y[bad][0]!r} not seen by the label pass")
        return codes.astype(np.int64)


def _class_name(value: object, kind: str) -> str:
    if kind == "f" and float(value).is_integer():  # type: ignore[arg-type]
        return str(int(value))  # type: ignore[call-overload]
    return str(value)


def scan_labels(indexes: list[ParquetIndex], cfg: DataConfig, model_kind: str) -> Labels:
    """The task and the label set from the target column of every file (train and val)."""
    task = cfg.task
    if task == "auto" and model_kind in ("logistic", "softmax"):
        task = "classification"
    if task == "auto" and model_kind == "linear":
        task = "regression"
    if task == "regression":
        return Labels("regression", None, None)
    pq = _pq()
    seen: set[Any] = set()
    kind = ""
    for index in indexes:
        for path in index.files:
            parquet = pq.ParquetFile(path)
            # A row group at a time: a file's whole target column is O(rows) (99 MB for
            # 12M int64 labels, twice that while np.unique sorts it), the one allocation
            # of a streamed run that grew with the data.
            for group in range(parquet.num_row_groups):
                column = parquet.read_row_group(group, columns=[index.target]).column(0)
                values = np.unique(column.to_numpy(zero_copy_only=False))
                kind = kind or values.dtype.kind
                seen.update(values.tolist())
                numeric = kind not in "USO"
                if task == "auto" and numeric and len(seen) > _MAX_CLASSES_AUTO:
                    return Labels("regression", None, None)
    values = np.array(sorted(seen))
    if task == "auto":
        integral = values.dtype.kind in "USO" or bool(np.all(np.mod(values, 1) == 0))
        if not integral:
            return Labels("regression", None, None)
    return Labels("classification", values, [_class_name(v, values.dtype.kind) for v in values])


def feature_stats(
    index: ParquetIndex, pieces: list[Piece], rank: int, world: int, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (population, as numpy's default) of the features over ``pieces``.

    Sums are taken about the first training row (a shift every rank reads the same),
    which keeps float64 sums of squares accurate for columns far from zero.
    """
    reader = PieceReader(index, pieces)
    shift = reader.read(0, 1)[0][0].astype(np.float64)
    width = len(index.features)
    sums = np.zeros(2 * width + 1, dtype=np.float64)
    for i in range(rank, len(pieces), world):  # piece i: rows [starts[i], starts[i + 1])
        x, _ = reader.read(int(reader.starts[i]), int(reader.starts[i + 1]))
        d = x.astype(np.float64) - shift
        sums[:width] += d.sum(axis=0)
        sums[width : 2 * width] += (d * d).sum(axis=0)
        sums[-1] += len(d)
    if world > 1:  # on the device: NCCL reduces device tensors only
        sums = all_reduce_sum(torch.from_numpy(sums).to(device)).cpu().numpy()
    total = sums
    n = total[-1]
    if n < 1:
        raise DataError("data: no training rows to compute statistics from")
    mean_d = total[:width] / n
    var = np.maximum(total[width : 2 * width] / n - mean_d**2, 0.0)
    std = np.sqrt(var)
    return mean_d + shift, np.where(std > _STD_FLOOR, std, 1.0)

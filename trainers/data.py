"""Load a data source into in-memory tensors, split it and standardise it.

Every source yields numpy arrays first (features ``x``: rows × features, or
rows × C × H × W for images; target ``y``), then one seeded split and the train
statistics turn them into a ``Dataset``. Batching lives in ``batches.py``.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from trainers.config import DataConfig, ModelConfig
from trainers.context import gcs_to_local
from trainers.errors import ConfigError, DataError

Task = Literal["classification", "regression"]
_MAX_CLASSES_AUTO = 50  # integer targets with more distinct values are treated as regression
_REMOTE = ("s3://", "azureml://", "https://", "http://", "wasbs://", "abfss://")
_VAL_CHANNELS = ("validation", "val", "valid")
_CLASS_SEPARATION = 1.5  # half the hypercube side, in units of the within-class noise


@dataclass
class Dataset:
    """Tensors ready for training, and what a model needs to know about them."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor | None
    y_val: torch.Tensor | None
    task: Task
    input_shape: tuple[int, ...]
    num_outputs: int
    classes: list[str] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        return 0 if self.x_val is None else int(self.x_val.shape[0])


@dataclass
class _Raw:
    x: np.ndarray
    y: np.ndarray
    classes: list[str] | None = None


def _digits() -> _Raw:
    """scikit-learn's bundled 8x8 digits, read from its CSV without importing sklearn
    (the import costs seconds; the file is 1797 rows)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("data.source=digits needs scikit-learn installed (it bundles the file)")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise DataError(f"data.source=digits: {path} is missing from scikit-learn")
    table = np.loadtxt(path, delimiter=",")
    return _Raw(table[:, :-1].reshape(-1, 1, 8, 8) / 16.0, table[:, -1].astype(np.int64))


def _synthetic_regression(cfg: DataConfig, seed: int) -> _Raw:
    """y = x @ w + b + noise, x and w standard normal."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(cfg.n_samples, cfg.n_features))
    w = rng.normal(size=cfg.n_features)
    b = rng.normal()
    y = x @ w + b + cfg.noise * rng.normal(size=cfg.n_samples)
    return _Raw(x, y.reshape(-1, 1))


def _synthetic_classification(cfg: DataConfig, seed: int) -> _Raw:
    """Gaussian blobs centred on distinct corners of a hypercube (as scikit-learn's
    make_classification places them) in the first few features; the other features
    are noise, and a ``noise`` fraction of the labels is redrawn at random."""
    rng = np.random.default_rng(seed)
    n, k = cfg.n_samples, cfg.n_classes
    informative = min(cfg.n_features, max(2, math.ceil(math.log2(k)) + 1))
    if 2**informative < k:
        raise ConfigError(
            f"data.n_features={cfg.n_features} is too few for n_classes={k}",
            hint=f"use n_features >= {math.ceil(math.log2(k))}",
        )
    corners = rng.choice(2**informative, size=k, replace=False)
    bits = (corners[:, None] >> np.arange(informative)) & 1
    centres = (2.0 * bits - 1.0) * _CLASS_SEPARATION
    y = rng.permutation(np.arange(n) % k)
    x = rng.normal(size=(n, cfg.n_features))
    x[:, :informative] += centres[y]
    flip = rng.random(n) < min(cfg.noise, 1.0)
    y[flip] = rng.integers(0, k, int(flip.sum()))
    return _Raw(x, y.astype(np.int64))


def _files(location: Path, suffix: str) -> list[Path]:
    if location.is_file():
        return [location]
    if location.is_dir():
        found = sorted(p for p in location.rglob(f"*{suffix}") if p.is_file())
        if found:
            return found
        raise DataError(f"data: no *{suffix} files in {location}")
    raise DataError(f"data: not found: {location}")


def _read_csv(location: Path, target: str) -> _Raw:
    header: list[str] | None = None
    rows: list[list[str]] = []
    for path in _files(location, ".csv"):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            head = next(reader, None)
            if head is None:
                continue
            if header is None:
                header = head
            elif head != header:
                raise DataError(f"{path}: header differs from the first CSV file's")
            rows.extend(r for r in reader if r)
    if header is None or not rows:
        raise DataError(f"data: {location} holds no CSV rows")
    if target not in header:
        raise DataError(f"data.target: column {target!r} not in {location}", hint=f"{header}")
    columns = list(zip(*rows, strict=False))
    if any(len(r) != len(header) for r in rows):
        raise DataError(f"{location}: rows have a different number of fields than the header")
    t = header.index(target)
    feats = []
    for i, name in enumerate(header):
        if i == t:
            continue
        try:
            feats.append(np.asarray(columns[i], dtype=np.float64))
        except ValueError as exc:
            raise DataError(
                f"{location}: column {name!r} is not numeric", hint="encode it first"
            ) from exc
    y_text = np.asarray(columns[t])
    try:
        y: np.ndarray = y_text.astype(np.float64)
    except ValueError:
        y = y_text
    return _Raw(np.stack(feats, axis=1), y)


def _read_npz(location: Path, target: str) -> _Raw:
    xs, ys = [], []
    for path in _files(location, ".npz"):
        with np.load(path, allow_pickle=False) as npz:
            xkey = next((k for k in ("x", "X", "features") if k in npz), None)
            ykey = next((k for k in (target, "y", "Y", "label", "labels") if k in npz), None)
            if xkey is None or ykey is None:
                raise DataError(f"{path}: needs arrays 'x' and 'y'", hint=f"has {list(npz)}")
            xs.append(np.asarray(npz[xkey]))
            ys.append(np.asarray(npz[ykey]))
    return _Raw(np.concatenate(xs), np.concatenate(ys))


def resolve_location(uri: str, data_dir: Path | None) -> Path:
    """The local path of ``data.uri``: a mounted channel dir wins over the URI itself."""
    if data_dir is not None:
        if not data_dir.exists():
            raise DataError(f"data dir not found: {data_dir}")
        named = data_dir / Path(uri.rstrip("/")).name
        return named if named.is_file() else data_dir
    if uri.startswith(_REMOTE):
        raise DataError(
            f"data.uri {uri} is remote and no data channel is mounted",
            hint="submit through a cloud provider, or pass --data-dir",
        )
    return Path(gcs_to_local(uri)).expanduser()


def _infer_task(cfg: DataConfig, raw: _Raw, model_kind: str) -> Task:
    if cfg.task != "auto":
        return cfg.task
    if cfg.source in ("digits", "synthetic_classification"):
        return "classification"
    if cfg.source == "synthetic_regression":
        return "regression"
    if model_kind in ("logistic", "softmax"):
        return "classification"
    if model_kind == "linear" or raw.y.ndim > 1:
        return "regression"
    if raw.y.dtype.kind in "USO":
        return "classification"
    values = np.unique(raw.y)
    integral = np.all(np.mod(values, 1) == 0)
    return "classification" if integral and len(values) <= _MAX_CLASSES_AUTO else "regression"


def _encode_labels(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    values, index = np.unique(y, return_inverse=True)
    names = [
        str(int(v)) if y.dtype.kind == "f" and float(v).is_integer() else str(v) for v in values
    ]
    return index.astype(np.int64), names


def _load_raw(cfg: DataConfig, data_dir: Path | None, seed: int) -> _Raw:
    if cfg.source == "digits":
        return _digits()
    if cfg.source == "synthetic_regression":
        return _synthetic_regression(cfg, seed)
    if cfg.source == "synthetic_classification":
        return _synthetic_classification(cfg, seed)
    assert cfg.uri is not None  # DataConfig's validator guarantees it
    location = resolve_location(cfg.uri, data_dir)
    reader = _read_csv if cfg.source == "csv" else _read_npz
    return reader(location, cfg.target)


def _as_images(x: np.ndarray) -> np.ndarray:
    return x[:, None] if x.ndim == 3 else x


def load_dataset(
    cfg: DataConfig,
    seed: int,
    model_kind: str = "mlp",
    data_dir: Path | None = None,
    val_dir: Path | None = None,
    model: ModelConfig | None = None,
) -> Dataset:
    """Load, split (seeded), standardise with train statistics, and wrap as tensors.

    ``text_csv`` is tokenised with ``model``'s tokenizer instead (see ``hf.py``).
    """
    if cfg.source == "text_csv":
        if model is None or model.kind != "huggingface":
            raise ConfigError("data.source=text_csv needs model.kind=huggingface (a tokenizer)")
        from trainers.hf import load_text_dataset

        return load_text_dataset(cfg, model, seed, data_dir, val_dir)
    raw = _load_raw(cfg, data_dir, seed)
    raw.x = _as_images(np.asarray(raw.x))
    n = raw.x.shape[0]
    if raw.y.shape[0] != n:
        raise DataError(f"data: {n} feature rows but {raw.y.shape[0]} targets")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    if cfg.limit is not None:
        order = order[: cfg.limit]
    x, y = raw.x[order], raw.y[order]
    val_raw = None
    if val_dir is not None and cfg.source in ("csv", "npz") and cfg.uri:
        val_raw = (_read_csv if cfg.source == "csv" else _read_npz)(val_dir, cfg.target)
        val_raw.x = _as_images(np.asarray(val_raw.x))
    task = _infer_task(cfg, _Raw(x, y), model_kind)
    classes: list[str] | None = None
    if task == "classification":
        all_y = y if val_raw is None else np.concatenate([y, val_raw.y])
        encoded, classes = _encode_labels(all_y.reshape(-1))
        y = encoded[: len(y)]
        if val_raw is not None:
            val_raw.y = encoded[len(y) :]
    else:
        if y.dtype.kind in "USO":
            raise DataError(f"data.target {cfg.target!r} is not numeric; regression needs numbers")
        y = y.reshape(len(y), -1).astype(np.float32)
        if val_raw is not None:
            val_raw.y = val_raw.y.reshape(len(val_raw.y), -1).astype(np.float32)
    if val_raw is not None:
        x_tr, y_tr, x_va, y_va = x, y, val_raw.x, val_raw.y
    else:
        n_val = round(len(x) * cfg.val_fraction)
        x_tr, y_tr, x_va, y_va = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    if len(x_tr) == 0:
        raise DataError("data: no training rows left after the validation split")
    mean = std = None
    if cfg.standardize:
        mean_arr = x_tr.mean(axis=0)
        std_arr = x_tr.std(axis=0)
        std_arr = np.where(std_arr > 1e-12, std_arr, 1.0)
        x_tr = (x_tr - mean_arr) / std_arr
        x_va = (x_va - mean_arr) / std_arr
        mean, std = mean_arr.reshape(-1).tolist(), std_arr.reshape(-1).tolist()
    has_val = len(x_va) > 0
    y_dtype = torch.int64 if task == "classification" else torch.float32
    num_outputs = len(classes) if classes is not None else int(y.shape[1])
    return Dataset(
        x_train=torch.as_tensor(np.ascontiguousarray(x_tr), dtype=torch.float32),
        y_train=torch.as_tensor(np.ascontiguousarray(y_tr), dtype=y_dtype),
        x_val=torch.as_tensor(np.ascontiguousarray(x_va), dtype=torch.float32) if has_val else None,
        y_val=torch.as_tensor(np.ascontiguousarray(y_va), dtype=y_dtype) if has_val else None,
        task=task,
        input_shape=tuple(int(d) for d in x_tr.shape[1:]),
        num_outputs=num_outputs,
        classes=classes,
        mean=mean,
        std=std,
        meta={"source": cfg.source, "rows": len(x)},
    )


def validation_dir(data_dirs: dict[str, Path]) -> Path | None:
    """A separate validation channel (SageMaker ``validation``), when one is mounted."""
    for name in _VAL_CHANNELS:
        if name in data_dirs:
            return data_dirs[name]
    return None

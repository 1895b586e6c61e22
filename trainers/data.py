"""Load a data source into in-memory tensors, split it and standardise it.

Every source yields numpy arrays first (features ``x``: rows × features, or
rows × C × H × W for images; target ``y``), then one seeded split and the train
statistics turn them into a ``Dataset``. Batching lives in ``batches.py``.

The rows are never copied into split order: the features stay where the reader put
them (standardised in place, block by block, when they are float32 already), the
training split is an index into them (``train_rows``) and only the validation rows
are gathered. That keeps a load's peak near one float32 copy of the data.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainers.config import DataConfig, ModelConfig
from trainers.context import gcs_to_local
from trainers.data_rank import SHARD_SOURCES, load_rank_shard
from trainers.data_split import Dataset, Task, encode_labels, split_dataset
from trainers.data_tabular import READERS, data_files
from trainers.errors import ConfigError, DataError

_MAX_CLASSES_AUTO = 50  # integer targets with more distinct values are treated as regression
_REMOTE = ("s3://", "azureml://", "https://", "http://", "wasbs://", "abfss://")
_VAL_CHANNELS = ("validation", "val", "valid")
_CLASS_SEPARATION = 1.5  # half the hypercube side, in units of the within-class noise


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
    return data_files(location, (suffix,))


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


def _infer_task(cfg: DataConfig, y: np.ndarray, model_kind: str) -> Task:
    if cfg.task != "auto":
        return cfg.task
    if cfg.source in ("digits", "synthetic_classification"):
        return "classification"
    if cfg.source == "synthetic_regression":
        return "regression"
    if model_kind in ("logistic", "softmax"):
        return "classification"
    if model_kind == "linear" or y.ndim > 1:
        return "regression"
    if y.dtype.kind in "USO":
        return "classification"
    values = np.unique(y)
    integral = np.all(np.mod(values, 1) == 0)
    return "classification" if integral and len(values) <= _MAX_CLASSES_AUTO else "regression"


_encode_labels = encode_labels  # hf.py's name for it


def _load_raw(cfg: DataConfig, data_dir: Path | None, seed: int, code_dir: Path | None) -> _Raw:
    if cfg.source == "digits":
        return _digits()
    if cfg.source == "synthetic_regression":
        return _synthetic_regression(cfg, seed)
    if cfg.source == "synthetic_classification":
        return _synthetic_classification(cfg, seed)
    if cfg.source == "custom":
        from trainers.data_custom import read_custom

        return _Raw(*read_custom(cfg, code_dir))
    assert cfg.uri is not None  # DataConfig's validator guarantees it
    location = resolve_location(cfg.uri, data_dir)
    if cfg.source == "image_folder":
        from trainers.data_images import read_image_folder

        return _Raw(*read_image_folder(cfg, location))
    return _read_location(cfg.source, location, cfg.target)


def _read_location(source: str, location: Path, target: str) -> _Raw:
    if source in READERS:
        x, y = READERS[source](location, target)
        return _Raw(x, y)
    return _read_npz(location, target)


def load_dataset(
    cfg: DataConfig,
    seed: int,
    model_kind: str = "mlp",
    data_dir: Path | None = None,
    val_dir: Path | None = None,
    model: ModelConfig | None = None,
    code_dir: Path | None = None,
    share: tuple[int, int] = (0, 1),
) -> Dataset:
    """Load, split (seeded), standardise with train statistics, and wrap as tensors.

    ``text_csv`` is tokenised with ``model``'s tokenizer instead (see ``hf.py``).
    ``share`` (rank, world) with world > 1: only that DDP rank's shard of a csv, parquet
    or jsonl file is read and returned (``data_rank.py``; what ``shard_dataset`` would cut
    from the whole load); other sources are loaded whole.
    """
    if cfg.source == "text_csv":
        if model is None or model.kind != "huggingface":
            raise ConfigError("data.source=text_csv needs model.kind=huggingface (a tokenizer)")
        from trainers.hf import load_text_dataset

        return load_text_dataset(cfg, model, seed, data_dir, val_dir)
    task_of = functools.partial(_infer_task, cfg, model_kind=model_kind)
    if share[1] > 1 and cfg.source in SHARD_SOURCES and cfg.uri:
        location = resolve_location(cfg.uri, data_dir)
        return load_rank_shard(cfg, seed, location, val_dir, task_of, *share)
    raw = _load_raw(cfg, data_dir, seed, code_dir)
    val_raw = None
    if val_dir is not None and cfg.source in ("csv", "npz", *READERS) and cfg.uri:
        val_raw = _read_location(cfg.source, val_dir, cfg.target)
    val = None if val_raw is None else (val_raw.x, val_raw.y)
    return split_dataset(cfg, seed, raw.x, raw.y, val, task_of, raw.classes)


def validation_dir(data_dirs: dict[str, Path]) -> Path | None:
    """A separate validation channel (SageMaker ``validation``), when one is mounted."""
    for name in _VAL_CHANNELS:
        if name in data_dirs:
            return data_dirs[name]
    return None

"""``data.source: custom``: a torch Dataset or IterableDataset from the job's own code.

``data.entrypoint`` names ``module:function`` in the job's code directory (imported as
``model.entrypoint`` is); the function, called with ``**data.args``, returns a map-style
``Dataset`` or an ``IterableDataset`` whose items are ``(features, target)`` pairs. The
items are read once, through a DataLoader (so ``data.workers`` processes can do the
decoding), into the same in-memory arrays every other source produces.
"""

from __future__ import annotations

from collections.abc import Sized
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from trainers.config import DataConfig
from trainers.config_base import MAX_SAMPLES
from trainers.data_images import last_line, loader_workers, worker_error
from trainers.entrypoint import load_entrypoint_function
from trainers.errors import ConfigError, DataError

_BATCH = 256


def load_entrypoint(cfg: DataConfig, code_dir: Path | None) -> Any:
    """Import ``data.entrypoint`` from the code dir and call it with ``data.args``."""
    assert cfg.entrypoint is not None  # DataConfig's validator guarantees it
    factory = load_entrypoint_function("data.entrypoint", cfg.entrypoint, code_dir)
    dataset = factory(**cfg.args)
    if not isinstance(dataset, Dataset | IterableDataset):
        raise ConfigError(
            f"data.entrypoint: {cfg.entrypoint} returned {type(dataset).__name__}, "
            "not a torch Dataset or IterableDataset"
        )
    return dataset


def _pair(batch: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, list | tuple) or len(batch) != 2:
        raise DataError(f"data.entrypoint: {where} items must be (features, target) pairs")
    x, y = batch
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise DataError(f"data.entrypoint: {where} items must hold numbers, arrays or tensors")
    return x, y


def read_custom(cfg: DataConfig, code_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """All of the entrypoint's items as (x, y) arrays; an IterableDataset is read up to
    ``data.limit`` items (or refused past the trainer's sample bound, so an endless one
    cannot hang the run)."""
    dataset = load_entrypoint(cfg, code_dir)
    cap = cfg.limit if cfg.limit is not None else MAX_SAMPLES
    size = len(dataset) if isinstance(dataset, Sized) else None
    iterable = isinstance(dataset, IterableDataset)
    workers = 0 if iterable else loader_workers(cfg.workers, size or 0)
    # a generator of its own: the loader's seed draw leaves the run's RNG alone
    loader = DataLoader(
        dataset, batch_size=_BATCH, num_workers=workers, generator=torch.Generator()
    )
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    count = 0
    try:
        for batch in loader:
            x, y = _pair(batch, cfg.entrypoint or "")
            xs.append(x.numpy())
            ys.append(y.numpy())
            count += len(x)
            if iterable and count >= cap:
                break
            if count > MAX_SAMPLES:
                raise DataError(
                    f"data.entrypoint: more than {MAX_SAMPLES} items", hint="set data.limit"
                )
    except DataError as exc:
        raise worker_error(exc) from exc
    except (TypeError, RuntimeError) as exc:  # the default collate cannot stack the items
        raise DataError(f"data.entrypoint: cannot batch the items: {last_line(exc)}") from exc
    if count < 2:
        raise DataError(f"data.entrypoint: {cfg.entrypoint} yielded {count} item(s)")
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    if iterable:
        x_all, y_all = x_all[:cap], y_all[:cap]
    if x_all.dtype.kind not in "fiub":
        raise DataError(f"data.entrypoint: features must be numbers (got {x_all.dtype})")
    return x_all, y_all

"""``image_folder``: one sub-directory per class, decoded with Pillow in DataLoader workers.

Every image is converted to ``data.image_mode``, resized to ``data.image_size`` square and
stored once as uint8 (rows × C × H × W), so the decode cost is paid once per run, spread
over worker processes; training then gathers batches from memory like any other source.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from trainers.config import DataConfig
from trainers.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_MAX_AUTO_WORKERS = 8
_IMAGES_PER_WORKER = 256  # below this many images per worker, starting workers costs more
_BATCH = 64


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise DataError(
            "data.source=image_folder needs Pillow to decode images", hint="pip install pillow"
        ) from exc
    return Image


def find_images(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """(image paths, class index of each, class names): one class per sub-directory of
    ``root``, images anywhere below it, sorted."""
    if not root.is_dir():
        raise DataError(f"data.uri: image_folder needs a directory of class folders: {root}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(
            f"data.uri: {root} has {len(classes)} class folder(s); image_folder needs one "
            "sub-directory per class, at least two"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        found = sorted(
            p
            for p in (root / name).rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not found:
            raise DataError(f"data.uri: class folder {root / name} holds no images")
        paths += found
        labels += [index] * len(found)
    return paths, np.asarray(labels, dtype=np.int64), classes


class _Decoded(Dataset[torch.Tensor]):
    """Image ``i`` as a uint8 C × H × W tensor (what each DataLoader worker runs)."""

    def __init__(self, paths: list[Path], size: int, mode: str) -> None:
        self.paths, self.size, self.mode = paths, size, mode

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        image_mod = _pil()
        path = self.paths[i]
        try:
            with image_mod.open(path) as image:
                image = image.convert(self.mode).resize(
                    (self.size, self.size), image_mod.Resampling.BILINEAR
                )
                pixels = np.array(image, dtype=np.uint8)  # a writable copy
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot decode the image ({exc})") from exc
        pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))


def loader_workers(requested: int | None, items: int) -> int:
    """DataLoader worker processes: ``data.workers``, or by CPU count and data size."""
    if requested is not None:
        return requested
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min(_MAX_AUTO_WORKERS, (cpus or 1) - 1, items // _IMAGES_PER_WORKER))


def last_line(exc: BaseException) -> str:
    """The last non-empty line of an error's text (a DataLoader worker's error arrives as
    the worker's whole traceback; its last line is the error itself)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def worker_error(exc: DataError) -> DataError:
    """A DataError raised in a DataLoader worker, as the one line it started as."""
    line = last_line(exc)
    prefix = "trainers.errors.DataError: "
    return DataError(line[len(prefix) :] if line.startswith(prefix) else line, hint=exc.hint)


def read_image_folder(cfg: DataConfig, root: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(float32 pixels in [0, 1], rows × C × H × W; class index per row; class names)."""
    _pil()  # fail before starting workers
    paths, labels, classes = find_images(root)
    channels = 1 if cfg.image_mode == "L" else 3
    pixels = np.empty((len(paths), channels, cfg.image_size, cfg.image_size), dtype=np.uint8)
    loader = DataLoader(
        _Decoded(paths, cfg.image_size, cfg.image_mode),
        batch_size=_BATCH,
        num_workers=loader_workers(cfg.workers, len(paths)),
        generator=torch.Generator(),  # its seed draw leaves the run's RNG alone
    )
    offset = 0
    try:
        for batch in loader:
            pixels[offset : offset + len(batch)] = batch.numpy()
            offset += len(batch)
    except DataError as exc:
        raise worker_error(exc) from exc
    x = pixels.astype(np.float32)
    x /= 255.0
    return x, labels, classes

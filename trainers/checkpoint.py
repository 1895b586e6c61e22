"""Atomic checkpoints: write to a temp file, fsync, rename; keep the last K.

A checkpoint holds everything that decides the rest of the run (model, optimizer,
schedule, scaler, RNG states and the data position), so a restarted process
continues exactly where the saved one stood.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = 3  # bump when the saved layout changes
PREFIX = "ckpt-"
SUFFIX = ".pt"
BEST_NAME = "best.pt"
_NAME = re.compile(rf"^{PREFIX}(\d+){re.escape(SUFFIX)}$")


def capture_rng() -> dict[str, Any]:
    """The python, numpy and torch (CPU and CUDA) generator states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back what ``capture_rng`` saved."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to ``path`` so a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        torch.save(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"{PREFIX}{step:09d}{SUFFIX}"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """(step, path) of every complete checkpoint, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def save_checkpoint(directory: Path, step: int, state: dict[str, Any], keep_last: int) -> Path:
    """Save ``state`` as the checkpoint of ``step`` and delete all but the newest K."""
    path = checkpoint_path(directory, step)
    atomic_save(state, path)
    for _, old in list_checkpoints(directory)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def load_latest(directory: Path) -> tuple[dict[str, Any], Path] | None:
    """The newest checkpoint that loads, skipping unreadable ones; None if there is none."""
    for _, path in reversed(list_checkpoints(directory)):
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # a truncated file from a crash on a non-atomic filesystem
            print(f"warning: skipping unreadable checkpoint {path}: {exc}", flush=True)
            continue
        return state, path
    return None

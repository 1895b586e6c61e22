"""Parquet sources for the streaming tests (a unique module name, imported by tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_parquet(
    directory: Path,
    files: int = 3,
    rows: int = 700,
    features: int = 6,
    row_group: int = 128,
    labels: str = "int",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``files`` Parquet files of a separable two-class problem; returns (x, y) of all
    rows in file order (y as written: ints, or strings with ``labels="str"``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    for f in range(files):
        x = (rng.normal(size=(rows, features)) * 3 + 5).astype(np.float32)
        cls = (x[:, 0] + x[:, 1] > 10).astype(np.int64)
        y: np.ndarray = np.array(["no", "yes"])[cls] if labels == "str" else cls
        columns = {f"f{i}": x[:, i] for i in range(features)}
        table = pa.table({**columns, "label": y})
        pq.write_table(table, directory / f"part-{f:03d}.parquet", row_group_size=row_group)
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)

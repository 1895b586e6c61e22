"""bench/data_load.py at tiny size, so the loading benchmark cannot rot unseen, and the
pyarrow path checked against the csv-module path it replaced: the same rows, in the same
split and order, with the same standardisation."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

pytest.importorskip("pyarrow")


def load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("data_load", REPO / "bench" / "data_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_new_load_gives_the_old_rows_split_and_scaling(tmp_path: Path) -> None:
    bench = load_bench()
    path = tmp_path / "train.csv"
    bench.write_csv(path, rows=500, features=6)
    old = bench.old_load(path)
    new = bench.as_arrays(bench.new_load(path))
    for before, after in zip(old, new, strict=True):
        assert before.shape == after.shape
        np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)


def test_the_benchmark_prints_both_paths_side_by_side(tmp_path: Path) -> None:
    bench = load_bench()
    result = bench.compare(rows=300, features=4, directory=tmp_path)
    for side in ("old", "new"):
        assert result[side]["seconds"] > 0 and result[side]["peak_bytes"] >= 0
        assert result[side]["float32_bytes"] == 300 * 4 * 4
    text = bench.report(result)
    for label in ("load seconds", "load CPU s", "peak RSS MiB", "peak/float32"):
        assert label in text


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_rank_comparison_prints_one_process_beside_rank_0(tmp_path: Path, fmt: str) -> None:
    bench = load_bench()
    result = bench.compare_ranks(rows=300, features=4, directory=tmp_path, world=2, fmt=fmt)
    for side in ("whole", "shard"):
        assert result[side]["seconds"] > 0 and result[side]["peak_bytes"] >= 0
        assert result[side]["float32_bytes"] == 300 * 4 * 4  # of the whole split, both
    text = bench.report_ranks(result)
    assert "1 process" in text and "rank 0 of 2" in text and "peak/float32" in text

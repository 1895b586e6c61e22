"""bench/stream_bench.py at tiny size, so the streaming benchmark cannot rot unseen."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def load_bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "stream_bench", REPO / "bench" / "stream_bench.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


@pytest.mark.slow
def test_stream_bench_reports_rss_per_size_and_the_in_memory_ratio(tmp_path: Path) -> None:
    bench = load_bench()
    assert bench.main(["--tiny", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "stream_bench.json").read_text())
    assert document["cap"].startswith("ulimit -v")
    sizes = document["larger_than_memory"]
    assert [row["multiple"] for row in sizes] == [0.0001, 0.0002]
    for row in sizes:
        assert row["peak_rss_mb"] > 0 and row["samples_per_sec"] > 0
        assert row["steps"] == -(-row["rows"] // 64)  # one epoch, batch 64
    [versus] = document["against_in_memory"]
    assert versus["hidden"] == [16]
    assert set(versus["medians"]) == {"stream", "in_memory"} and versus["ratio"] > 0


@pytest.mark.slow
def test_the_peak_rss_is_the_trainers_own_not_the_benchmarks(tmp_path: Path) -> None:
    # The benchmark process itself holds 1.5 GiB when it starts the trainer (as it holds the
    # generated data): a tiny trainer's peak must still read as a tiny trainer's.
    ballast = np.ones(3 * 2**26, dtype=np.float64)
    bench = load_bench()
    assert bench.main(["--tiny", "--only", "larger", "--out", str(tmp_path)]) == 0
    del ballast
    document = json.loads((tmp_path / "stream_bench.json").read_text())
    for row in document["larger_than_memory"]:
        assert 0 < row["peak_rss_mb"] < 1024

"""bench/stream_bench.py at tiny size, so the streaming benchmark cannot rot unseen."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_stream_bench_reports_rss_per_size_and_the_in_memory_ratio(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "stream_bench", REPO / "bench" / "stream_bench.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
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

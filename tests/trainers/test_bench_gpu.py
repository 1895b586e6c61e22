"""bench/gpu_bench.py at tiny size on the CPU, so the GPU benchmark cannot rot unseen."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_bench() -> object:
    spec = importlib.util.spec_from_file_location("gpu_bench", REPO / "bench" / "gpu_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_bench_reports_every_workload_and_precision_at_tiny_size(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    bench = load_bench()
    args = ["--size", "tiny", "--device", "cpu", "--steps", "2", "--repeats", "1"]
    args += ["--modes", "fp32,tf32,bf16", "--peak-tflops", "1.0", "--out", str(tmp_path)]
    assert bench.main(args) == 0  # type: ignore[attr-defined]
    document = json.loads((tmp_path / "gpu_bench.json").read_text())
    assert document["peak_source"] == "--peak-tflops" and document["skipped"] == []
    rows = document["results"]
    assert [(r["workload"], r["mode"]) for r in rows] == [
        (w, m) for w in ("mlp", "resnet", "bert") for m in ("fp32", "tf32", "bf16")
    ]
    for row in rows:
        assert row["trainer_samples_per_sec"] > 0 and row["hand_samples_per_sec"] > 0
        assert row["model_flops_per_sample"] > 0 and row["mfu"] > 0
        assert 0.0 <= row["data_wait_fraction"] <= 1.0
        assert row["performance"]["tf32"].startswith("not applicable")


def test_without_a_peak_figure_mfu_is_not_applicable_on_cpu() -> None:
    import torch

    bench = load_bench()
    peak, source = bench.peak_tflops(torch.device("cpu"), None)  # type: ignore[attr-defined]
    assert peak is None and "no peak" in source

"""In-memory data loading: today's pyarrow path against the csv-module path it replaced.

Writes a CSV of ``--rows`` rows x ``--features`` float features plus an integer label
(1M x 32 is about 280 MB) in a temporary directory, then loads it once with each path,
each in a fresh process, through the whole load (read, seeded split, standardisation,
tensors), and prints seconds (wall and CPU: on a shared machine the CPU seconds are the
steadier figure) and peak RSS side by side with their ratios. Peak RSS is
the growth of the process's high-water mark during the load, over its resident size
just before it (after torch, numpy and pyarrow are imported), reported next to the
size of the float32 feature array.

    python bench/data_load.py                 # 1M x 32, the issue's file
    python bench/data_load.py --rows 200000   # quicker
    python bench/data_load.py --world 2       # one process vs rank 0 of 2 DDP ranks
    python bench/data_load.py --world 2 --format parquet --repeats 3

``--world W`` compares, instead, today's load in one process with what rank 0 of W DDP
ranks loads (its shard only, ``trainers/data_rank.py``), each in a fresh process, of the
CSV or of the same rows as Parquet (``--format``), ``--repeats`` times each, interleaved
(medians); the peak of both is reported against the whole float32 array.

The test suite runs it at a tiny size (tests/trainers/test_bench_data_load.py), and
checks that both paths give the same training rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 0
VAL_FRACTION = 0.2


def write_csv(path: Path, rows: int, features: int, seed: int = 0) -> None:
    """Random float features (5 decimals, like a typical export) and a 0-9 label."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {
        f"f{j}": np.round(rng.normal(size=rows), 5) for j in range(features)
    }
    columns["label"] = rng.integers(0, 10, rows)
    pacsv.write_csv(pa.table(columns), path)


def old_load(path: Path, target: str = "label") -> tuple[np.ndarray, ...]:
    """The path this replaced, kept verbatim in what it computes: Python's csv module into
    lists of strings, float64 columns, a permuted copy, standardisation, float32."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [r for r in reader if r]
    columns = list(zip(*rows, strict=False))
    t = header.index(target)
    feats = [np.asarray(columns[i], dtype=np.float64) for i in range(len(header)) if i != t]
    x, y = np.stack(feats, axis=1), np.asarray(columns[t]).astype(np.float64)
    del rows, columns, feats
    order = np.random.default_rng(SEED).permutation(len(x))
    x, y = x[order], y[order]
    y_codes = np.unique(y, return_inverse=True)[1]
    n_val = round(len(x) * VAL_FRACTION)
    x_tr, y_tr, x_va, y_va = x[n_val:], y_codes[n_val:], x[:n_val], y_codes[:n_val]
    mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std
    return (
        np.ascontiguousarray(x_tr, dtype=np.float32),
        y_tr,
        np.ascontiguousarray(x_va, dtype=np.float32),
        y_va,
    )


def new_load(path: Path, world: int = 1) -> Any:
    """The trainer's path: ``trainers.data.load_dataset`` (a Dataset); rank 0's shard of it
    when ``world`` > 1."""
    from trainers.config import DataConfig
    from trainers.data import load_dataset

    source = "parquet" if path.suffix == ".parquet" else "csv"
    cfg = DataConfig(source=source, uri=str(path), val_fraction=VAL_FRACTION)
    return load_dataset(cfg, SEED, "mlp", share=(0, world))


def as_arrays(ds: Any) -> tuple[np.ndarray, ...]:
    """A Dataset's (x_train, y_train, x_val, y_val), in split order, as numpy arrays."""
    return ds.x_train.numpy(), ds.y_train.numpy(), ds.x_val.numpy(), ds.y_val.numpy()


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {key}")


def measure(which: str, path: Path, world: int = 1) -> dict[str, Any]:
    """Load once in this process; seconds and peak RSS growth (needs Linux's /proc)."""
    import pyarrow  # noqa: F401  # imported before the baseline, as the trainer has it
    import torch  # noqa: F401

    import trainers.data  # noqa: F401

    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to now
    before = _status("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    if which == "old":
        arrays = old_load(path)
        rows, features = len(arrays[0]) + len(arrays[2]), arrays[0].shape[1]
    else:
        ds = new_load(path, world)
        rows, features = ds.n_train + ds.n_val, ds.input_shape[0]  # of the whole split
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _status("VmHWM") - before
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_bytes": peak,
        "float32_bytes": rows * features * 4,
    }


def run_child(which: str, path: Path, world: int = 1) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", which, "--path", str(path), "--world", str(world)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{which} load failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def compare(rows: int, features: int, directory: Path) -> dict[str, Any]:
    """Write the file, load it with both paths; returns the numbers printed."""
    path = directory / "train.csv"
    write_csv(path, rows, features)
    old, new = run_child("old", path), run_child("new", path)
    return {
        "rows": rows,
        "features": features,
        "csv_mb": path.stat().st_size / 1e6,
        "load_avg": os.getloadavg(),
        "old": old,
        "new": new,
        "speedup": old["seconds"] / new["seconds"],
        "cpu_speedup": old["cpu_seconds"] / new["cpu_seconds"],
        "new_peak_over_float32": new["peak_bytes"] / new["float32_bytes"],
        "old_peak_over_float32": old["peak_bytes"] / old["float32_bytes"],
    }


def report(r: dict[str, Any]) -> str:
    mib = 1024**2
    old, new = r["old"], r["new"]
    return "\n".join(
        [
            f"{r['rows']} rows x {r['features']} features, CSV {r['csv_mb']:.0f} MB, "
            f"float32 array {new['float32_bytes'] / mib:.0f} MiB, "
            f"load average {r['load_avg'][0]:.2f}",
            f"{'':14}{'csv module':>12}{'pyarrow':>12}{'ratio':>10}",
            f"{'load seconds':14}{old['seconds']:12.2f}{new['seconds']:12.2f}{r['speedup']:9.1f}x",
            f"{'load CPU s':14}{old['cpu_seconds']:12.2f}{new['cpu_seconds']:12.2f}"
            f"{r['cpu_speedup']:9.1f}x",
            f"{'peak RSS MiB':14}{old['peak_bytes'] / mib:12.0f}{new['peak_bytes'] / mib:12.0f}"
            f"{old['peak_bytes'] / max(new['peak_bytes'], 1):9.1f}x",
            f"{'peak/float32':14}{r['old_peak_over_float32']:12.2f}"
            f"{r['new_peak_over_float32']:12.2f}",
        ]
    )


def compare_ranks(
    rows: int, features: int, directory: Path, world: int, fmt: str = "csv", repeats: int = 1
) -> dict[str, Any]:
    """Write the file (CSV, or the same rows as Parquet), load it whole in one process and
    as rank 0 of ``world``, ``repeats`` times each, interleaved; the median run of each."""
    path = directory / "train.csv"
    write_csv(path, rows, features)
    if fmt == "parquet":
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        pq.write_table(pacsv.read_csv(path), directory / "train.parquet")
        path.unlink()
        path = directory / "train.parquet"
    runs: dict[str, list[dict[str, Any]]] = {"whole": [], "shard": []}
    for _ in range(repeats):
        runs["whole"].append(run_child("new", path))
        runs["shard"].append(run_child("new", path, world))

    def median(side: str) -> dict[str, Any]:
        done = runs[side]
        return {k: statistics.median(r[k] for r in done) for k in done[0]}

    return {
        "rows": rows,
        "features": features,
        "world": world,
        "format": fmt,
        "repeats": repeats,
        "file_mb": path.stat().st_size / 1e6,
        "load_avg": os.getloadavg(),
        "whole": median("whole"),
        "shard": median("shard"),
    }


def report_ranks(r: dict[str, Any]) -> str:
    mib = 1024**2
    whole, shard = r["whole"], r["shard"]
    full = whole["float32_bytes"]
    w_peak, s_peak = whole["peak_bytes"], shard["peak_bytes"]
    return "\n".join(
        [
            f"{r['rows']} rows x {r['features']} features, {r['format']} {r['file_mb']:.0f} MB, "
            f"float32 array {full / mib:.0f} MiB, load average {r['load_avg'][0]:.2f}, "
            f"median of {r['repeats']}",
            f"{'':14}{'1 process':>12}{'rank 0 of ' + str(r['world']):>12}{'ratio':>10}",
            f"{'load seconds':14}{whole['seconds']:12.2f}{shard['seconds']:12.2f}"
            f"{shard['seconds'] / whole['seconds']:9.2f}x",
            f"{'load CPU s':14}{whole['cpu_seconds']:12.2f}{shard['cpu_seconds']:12.2f}"
            f"{shard['cpu_seconds'] / whole['cpu_seconds']:9.2f}x",
            f"{'peak RSS MiB':14}{w_peak / mib:12.0f}{s_peak / mib:12.0f}"
            f"{s_peak / max(w_peak, 1):9.2f}x",
            f"{'peak/float32':14}{w_peak / full:12.2f}{s_peak / full:12.2f}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--child", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument("--world", type=int, default=1, help="compare with rank 0 of WORLD")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", help="--world")
    parser.add_argument("--repeats", type=int, default=1, help="--world: runs of each, median")
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.path, args.world)))
        return
    with tempfile.TemporaryDirectory(prefix="cloudgd-bench-") as tmp:
        if args.world > 1:
            result = compare_ranks(
                args.rows, args.features, Path(tmp), args.world, args.format, args.repeats
            )
            print(report_ranks(result))
        else:
            print(report(compare(args.rows, args.features, Path(tmp))))


if __name__ == "__main__":
    main()

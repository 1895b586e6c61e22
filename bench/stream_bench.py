"""Streaming data larger than memory: one epoch under a memory cap, RSS as data grows.

Two measurements, both with the real trainer (``python -m trainers``) in a child process:

1. **Larger than memory.** Parquet datasets whose decoded size (float32 features +
   int64 label) is ``--sizes`` times the cap (default 0.5, 1.5 and 3), each trained for
   one epoch with ``data.mode: stream`` in a process whose address space is capped with
   ``ulimit -v`` (RLIMIT_AS): every byte it maps counts, resident or not, so the cap
   is stricter than a resident-memory limit (a torch + pyarrow process maps ~1 GB
   before it reads any data). Reported: peak RSS (the child's own
   ``VmHWM``), wall time and the trainer's samples/s. Flat RSS across sizes is the
   claim.
2. **Throughput against the in-memory path** on data that fits (``--fit-rows`` rows):
   the same rows as Parquet streamed, and as ``.npz`` loaded whole (the in-memory path),
   ``--repeats`` interleaved runs each; the trainer's own samples/s (training steps
   only, load time excluded), medians compared. Target: stream >= 0.9 x in-memory.

Feature values take 256 levels, so Parquet dictionary-encodes them: the files on disk
are about a quarter of the decoded size, which keeps the benchmark within ~1.7 GB of
disk at the default cap (one size at a time, in a temp dir deleted at the end).

    python bench/stream_bench.py                  # ~3-5 min on 2 busy cores
    python bench/stream_bench.py --tiny           # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LEVELS = 256
_CHUNK = 262_144  # rows generated and written at a time
# The trainer runs under this launcher, which writes its own peak RSS (VmHWM, KiB) at exit.
# Not wait4's ru_maxrss: Linux carries the high-water RSS of the process that forked the
# child over its exec, so that figure is never below this benchmark's own peak.
_LAUNCH = """\
import atexit, runpy, sys
def record():
    status = open("/proc/self/status").read()
    open("peak_rss_kb", "w").write(status.split("VmHWM:")[1].split()[0])
atexit.register(record)
sys.argv = ["trainers", *sys.argv[1:]]
runpy.run_module("trainers", run_name="__main__", alter_sys=True)
"""


def decoded_row_bytes(features: int) -> int:
    return features * 4 + 8  # float32 features, int64 label


def write_parquet(path: Path, rows: int, features: int, seed: int, row_group: int) -> int:
    """``rows`` rows of a two-class problem in one Parquet file; returns its size."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    levels = np.linspace(-2.0, 2.0, LEVELS, dtype=np.float32)
    names = [f"f{i}" for i in range(features)]
    schema = pa.schema([*(pa.field(n, pa.float32()) for n in names), ("label", pa.int64())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, _CHUNK):
            n = min(_CHUNK, rows - start)
            x = levels[rng.integers(0, LEVELS, size=(n, features), dtype=np.uint8)]
            y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
            table = pa.table([*(x[:, i] for i in range(features)), y], schema=schema)
            writer.write_table(table, row_group_size=row_group)
    return path.stat().st_size


def parquet_to_npz(parquet: Path, npz: Path) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    x = np.stack([table.column(i).to_numpy() for i in range(table.num_columns - 1)], axis=1)
    np.savez(npz, x=x, y=table.column("label").to_numpy())


def job(
    data: dict[str, Any],
    epochs: int,
    batch: int,
    features: int,
    model: dict[str, Any] | None = None,
) -> dict[str, Any]:
    levels = np.linspace(-2.0, 2.0, LEVELS)
    stats = {"mean": [float(levels.mean())] * features, "std": [float(levels.std())] * features}
    if data.get("mode") != "stream":
        stats_field: dict[str, Any] = {}
    else:  # known from the generator: spares the statistics pass
        stats_field = {"stats": stats}
    return {
        "model": model or {"kind": "mlp", "hidden": [64]},
        "data": {**data, "target": "label", "val_fraction": 0.0, **stats_field},
        "optimizer": {"name": "adam", "lr": 0.001},
        "epochs": epochs,
        "batch_size": batch,
        "log_every_steps": 100_000,
        "device": "cpu",
        "num_threads": 1,
    }


def run_trainer(config: dict[str, Any], where: Path, cap_bytes: int | None) -> dict[str, Any]:
    """One trainer process; (peak RSS, wall, samples/s) with ``cap_bytes`` of address space."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "job.json").write_text(json.dumps(config))
    # An address-space cap counts reserved but untouched memory: glibc reserves 64 MiB per
    # thread arena, and Arrow's jemalloc pool keeps the address ranges it has used. So two
    # arenas and Arrow's system-malloc pool, for both contenders alike.
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "ARROW_DEFAULT_MEMORY_POOL": "system",
    }

    args = [sys.executable, "-c", _LAUNCH, "--config", "job.json"]
    args += ["--model-dir", "model", "--output-dir", "out", "--checkpoint-dir", "ckpt"]
    if cap_bytes is not None:  # the shell's ulimit -v (KiB), then exec: the cap is the child's
        args = ["sh", "-c", f'ulimit -v {cap_bytes // 1024} && exec "$@"', "sh", *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=where, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.wait()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"trainer exited {proc.returncode}: {' | '.join(tail)}")
    summary = json.loads((where / "out" / "summary.json").read_text())
    shutil.rmtree(where / "ckpt", ignore_errors=True)
    return {
        "peak_rss_mb": int((where / "peak_rss_kb").read_text()) / 1024,
        "wall_s": wall,
        "samples_per_sec": summary["samples_per_sec"],
        "steps": summary["steps"],
    }


def larger_than_memory(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    cap = args.cap_mb * 2**20
    rows_per_cap = cap // decoded_row_bytes(args.features)
    results = []
    for multiple in args.sizes:
        rows = int(rows_per_cap * multiple)
        data = tmp / f"x{multiple}"
        data.mkdir()
        on_disk = write_parquet(data / "part-0.parquet", rows, args.features, 1, args.row_group)
        config = job({"source": "parquet", "uri": str(data), "mode": "stream"}, 1, args.batch,
                     args.features)  # fmt: skip
        # The same data trained several times: how much the peak moves between runs of one
        # size (threads reading ahead are timed by the scheduler) is the yardstick for
        # whether it moves with the size.
        runs = [
            run_trainer(config, tmp / f"run-x{multiple}-{i}", cap) for i in range(args.size_repeats)
        ]
        peaks = [run["peak_rss_mb"] for run in runs]
        result = {
            "peak_rss_mb": max(peaks),
            "peak_rss_runs_mb": peaks,
            "wall_s": statistics.median(run["wall_s"] for run in runs),
            "samples_per_sec": statistics.median(run["samples_per_sec"] for run in runs),
            "steps": runs[0]["steps"],
            "multiple": multiple,
            "rows": rows,
            "decoded_gb": rows * decoded_row_bytes(args.features) / 1e9,
            "on_disk_gb": on_disk / 1e9,
        }
        results.append(result)
        print(
            f"x{multiple}: {rows:,} rows, {result['decoded_gb']:.2f} GB decoded "
            f"({result['on_disk_gb']:.2f} GB on disk): peak RSS {result['peak_rss_mb']:.0f} MB "
            f"(runs: {', '.join(f'{v:.0f}' for v in peaks)}), "
            f"{result['samples_per_sec']:,.0f} samples/s, {result['wall_s']:.1f} s",
            flush=True,
        )
        shutil.rmtree(data)
    return results


def against_in_memory(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    data = tmp / "fits"
    data.mkdir()
    write_parquet(data / "part-0.parquet", args.fit_rows, args.features, 2, args.row_group)
    parquet_to_npz(data / "part-0.parquet", tmp / "fits.npz")
    results = []
    for hidden in args.fit_models:
        model = {"kind": "mlp", "hidden": hidden}
        stream = job({"source": "parquet", "uri": str(data), "mode": "stream"}, 2, args.batch,
                     args.features, model)  # fmt: skip
        memory = job({"source": "npz", "uri": str(tmp / "fits.npz")}, 2, args.batch,
                     args.features, model)  # fmt: skip
        runs: dict[str, list[float]] = {"stream": [], "in_memory": []}
        rss: dict[str, float] = {"stream": 0.0, "in_memory": 0.0}
        for i in range(args.repeats):
            for name, config in (("in_memory", memory), ("stream", stream)):
                result = run_trainer(config, tmp / f"fit-{name}-{i}", None)
                runs[name].append(result["samples_per_sec"])
                rss[name] = max(rss[name], result["peak_rss_mb"])
        medians = {name: statistics.median(values) for name, values in runs.items()}
        ratio = medians["stream"] / medians["in_memory"]
        print(
            f"fits ({args.fit_rows:,} rows, mlp {hidden}): stream {medians['stream']:,.0f} "
            f"samples/s vs in-memory {medians['in_memory']:,.0f} -> ratio {ratio:.3f} "
            f"(target >= 0.9); peak RSS stream {rss['stream']:.0f} MB, in-memory "
            f"{rss['in_memory']:.0f} MB",
            flush=True,
        )
        results.append(
            {"hidden": hidden, "runs": runs, "medians": medians, "ratio": ratio, "peak_rss_mb": rss}
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-mb", type=int, default=2048, help="ulimit -v of the trainer")
    parser.add_argument("--sizes", type=lambda s: [float(v) for v in s.split(",")],
                        default=[0.5, 1.5, 3.0], help="decoded data size / cap")  # fmt: skip
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--row-group", type=int, default=65_536)
    parser.add_argument("--fit-rows", type=int, default=400_000)
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="interleaved runs of each contender in the throughput comparison",
    )
    parser.add_argument(
        "--size-repeats",
        type=int,
        default=3,
        help="runs of each size under the cap (the peak reported is their max)",
    )
    parser.add_argument(
        "--fit-models",
        type=lambda s: [[int(w) for w in m.split("x")] for m in s.split(",")],
        default=[[64], [256, 256]],
        help="MLP hidden layers of the throughput runs, e.g. 64,256x256",
    )
    parser.add_argument("--only", choices=("all", "larger", "fits"), default="all",
                        help="run both measurements, or one")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="write stream_bench.json here")
    parser.add_argument("--tiny", action="store_true", help="seconds-long sizes (tests)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.features, args.batch, args.row_group = 8, 64, 1024
        args.cap_mb, args.sizes, args.fit_rows, args.repeats = 4096, [0.0001, 0.0002], 4000, 1
        args.size_repeats = 1
        args.fit_models = [[16]]
    tmp = Path(tempfile.mkdtemp(prefix="cloudgd-stream-bench-"))
    try:
        document = {
            "cap": f"ulimit -v (RLIMIT_AS) {args.cap_mb} MiB, MALLOC_ARENA_MAX=2, "
            "ARROW_DEFAULT_MEMORY_POOL=system",
            "features": args.features,
            "batch_size": args.batch,
            "load_average": os.getloadavg(),
            "larger_than_memory": larger_than_memory(args, tmp) if args.only != "fits" else [],
            "against_in_memory": against_in_memory(args, tmp) if args.only != "larger" else [],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "stream_bench.json").write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What checkpointing costs the training throughput, for one or two trees of the code.

A ~21M-parameter MLP (AdamW: ~250 MB per checkpoint) trains for ``--steps`` steps
with no periodic checkpoint and with one every ``--every`` steps. Each run is a real
``python -m trainers`` process; throughput is timed on this side between the first
and the last ``[step]`` line, so it includes every checkpoint in between, whatever the
trainer itself counts as training time. Contenders run interleaved, ``--repeats``
rounds; the cost is the median of per-round ratios. ``--before-tree`` names a copy of
an earlier version to measure side by side with this one, e.g.

    git -C . archive <commit> trainers | tar -x -C /tmp/before
    python bench/checkpoint_cost.py --before-tree /tmp/before --repeats 3

The machine's load average is printed before and after: on a shared machine the
absolute figures move with it, and the paired ratios much less.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def job(steps: int, every: int | None, threads: int) -> dict[str, Any]:
    return {
        "model": {"kind": "mlp", "hidden": [2048] * 5},
        "data": {
            "source": "synthetic_classification",
            "n_samples": 4096,
            "n_features": 2048,
            "n_classes": 10,
            "val_fraction": 0.0,
        },
        "optimizer": {"name": "adamw", "lr": 1e-4},
        "epochs": 10**6,
        "max_steps": steps,
        "batch_size": 64,
        "log_every_steps": 10,
        "checkpoint": {"every_steps": every or 10**9, "keep_last": 2, "resume": False},
        "device": "cpu",
        "num_threads": threads,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) the process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_run(tree: Path, cfg: dict[str, Any], work: Path) -> tuple[float, float, int]:
    """(wall seconds and CPU seconds between the first and last [step] line, steps between)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "job.json").write_text(json.dumps(cfg))
    args = [sys.executable, "-m", "trainers", "--config", str(work / "job.json")]
    for flag in ("model", "output", "checkpoint"):
        args += [f"--{flag}-dir", str(work / flag)]
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(cfg["num_threads"])}
    proc = subprocess.Popen(args, cwd=work, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first: tuple[float, float, int] | None = None
    last: tuple[float, float, int] | None = None
    for line in proc.stdout:
        if line.startswith("[step]"):
            step = int(line.split("step=", 1)[1].split()[0])
            last = (time.perf_counter(), cpu_seconds(proc.pid), step)
            first = first or last
    if proc.wait() != 0 or first is None or last is None or last[2] == first[2]:
        raise SystemExit(f"{tree}: the trainer failed or logged too few steps")
    return last[0] - first[0], last[1] - first[1], last[2] - first[2]


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--before-tree", type=Path, default=None)
    args = parser.parse_args()
    trees = {"this tree": REPO}
    if args.before_tree is not None:
        trees = {"before": args.before_tree.resolve(), **trees}
    print(f"load average (1, 5, 15 min) at start: {load()}; cpus={os.cpu_count()}")
    print(
        f"mlp 2048x5 on 2048 features (~21M params), batch 64, {args.steps} steps, "
        f"checkpoint every {args.every}, threads={args.threads}, repeats={args.repeats}"
    )
    rates: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for name, tree in trees.items():
                for label, every in (("none", None), (f"every {args.every}", args.every)):
                    cfg = job(args.steps, every, args.threads)
                    seconds, used, steps = timed_run(tree, cfg, Path(tmp) / f"{name}-{label}-{r}")
                    rates.setdefault((name, label), []).append(steps / seconds)
                    cpu.setdefault((name, label), []).append(used / steps)
    print(f"load average at end: {load()}")
    for name in trees:
        none, ckpt = rates[(name, "none")], rates[(name, f"every {args.every}")]
        losses = [1 - c / n for c, n in zip(ckpt, none, strict=True)]
        print(
            f"  {name:<10} steps/s without {statistics.median(none):.3f}, "
            f"with checkpoints {statistics.median(ckpt):.3f}: throughput loss "
            f"{statistics.median(losses):.1%} (per round: "
            f"{', '.join(f'{x:.1%}' for x in losses)})"
        )
        c_none = statistics.median(cpu[(name, "none")])
        c_ckpt = statistics.median(cpu[(name, f"every {args.every}")])
        print(
            f"  {'':<10} CPU s/step (all threads; load-insensitive, misses I/O waits): "
            f"{c_none:.3f} without, {c_ckpt:.3f} with (+{c_ckpt / c_none - 1:.1%})"
        )


if __name__ == "__main__":
    main()

"""Distributed scaling of the real trainer, and GPU throughput with AMP.

``--device cpu`` (default): ``python -m trainers`` as 1 process, then as 2 gloo
processes (WORLD_SIZE/RANK/MASTER_ADDR, the same contract the local provider and
the clouds give it), on an MLP large enough that the gradient all-reduce matters
(~2.4 M parameters, ~9.5 MB of fp32 gradients per step). ``batch_size`` is per
process (weak scaling), so ideal 2-process throughput is twice the 1-process one:

    scaling efficiency = samples/s(2 procs) / (2 x samples/s(1 proc))

``--device cuda``: the same trainer on one GPU with a bigger model and batch,
precision fp32 vs bf16 autocast vs fp16 (GradScaler); prints samples/s and the AMP
speed-up over fp32. With two or more GPUs it also runs 2 NCCL processes vs 1.

Throughput is the trainer's own ``samples_per_sec`` from summary.json (training
steps only: evaluation and checkpoint writing excluded). Contenders run
interleaved, ``--repeats`` rounds; medians are compared.

    python bench/ddp_scaling.py --steps 150 --repeats 3
    python bench/ddp_scaling.py --device cuda --steps 400 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def trainer_config(args: argparse.Namespace, precision: str) -> dict[str, Any]:
    """A TrainConfig: synthetic classification, a wide MLP, no evaluation or checkpoints."""
    return {
        "model": {"kind": "mlp", "hidden": args.hidden},
        "data": {
            "source": "synthetic_classification",
            "n_samples": args.samples,
            "n_features": args.features,
            "n_classes": 10,
            "val_fraction": 0.05,
        },
        "optimizer": {"name": "adamw", "lr": 1e-3},
        "batch_size": args.batch_size,
        "epochs": 10**6,
        "max_steps": args.steps,
        "log_every_steps": 50,
        "eval_every_epochs": 10**6,
        "checkpoint": {"every_steps": 10**9, "resume": False},
        "precision": precision,
        "device": args.device,
        "num_threads": args.threads,
        "seed": 0,
    }


def run_trainer(args: argparse.Namespace, world: int, precision: str) -> dict[str, Any]:
    """Run ``world`` trainer processes to the end; rank 0's summary.json."""
    with tempfile.TemporaryDirectory(prefix="cloudgd-ddp-bench-") as tmp:
        root = Path(tmp)
        config = root / "config.json"
        config.write_text(json.dumps(trainer_config(args, precision)))
        port = free_port()
        procs = []
        for rank in range(world):
            out = root / f"rank{rank}"
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO),
                "OMP_NUM_THREADS": str(args.threads),
            }
            for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
                env.pop(name, None)
            if world > 1:
                env.update(
                    WORLD_SIZE=str(world),
                    RANK=str(rank),
                    LOCAL_RANK=str(rank),
                    MASTER_ADDR="127.0.0.1",
                    MASTER_PORT=str(port),
                )
            argv = [sys.executable, "-m", "trainers", "--config", str(config)]
            for flag in ("output", "model", "checkpoint"):
                argv += [f"--{flag}-dir", str(out / flag)]
            procs.append(
                subprocess.Popen(
                    argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
            )
        errors = [(p.wait(), p.stderr.read().decode(errors="replace")) for p in procs if p.stderr]
        for code, stderr in errors:
            if code != 0:
                raise SystemExit(f"trainer (world={world}) exited {code}:\n{stderr[-3000:]}")
        summary: dict[str, Any] = json.loads(
            (root / "rank0" / "output" / "summary.json").read_text()
        )
        summary["steady_samples_per_sec"] = steady_throughput(root / "rank0" / "output")
        return summary


def steady_throughput(output: Path) -> float | None:
    """Median samples/s of the logged intervals after the first one.

    The summary's figure averages over the whole run, first steps included; on a GPU
    those carry CUDA context, cuBLAS and autocast start-up, which at a few hundred
    steps hides the difference between precisions. The first interval is dropped.
    """
    rows = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    rates = [float(r["samples_per_sec"]) for r in rows if r.get("kind") == "step"]
    return statistics.median(rates[1:]) if len(rates) >= 3 else None


def median_table(samples: dict[str, list[float]]) -> dict[str, float]:
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, values in samples.items():
        spread = f"{min(values):,.0f}..{max(values):,.0f}"
        print(f"  {name:<26} {medians[name]:>12,.0f} samples/s  ({spread})")
    return medians


def measure(args: argparse.Namespace, contenders: dict[str, tuple[int, str]]) -> dict[str, float]:
    run_trainer(args, 1, contenders[next(iter(contenders))][1])  # warm-up: caches, CUDA init
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    params = 0
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    for _ in range(args.repeats):
        for name, (world, precision) in contenders.items():
            summary = run_trainer(args, world, precision)
            steady = summary["steady_samples_per_sec"]
            samples[name].append(float(steady or summary["samples_per_sec"]))
            params = int(summary["num_parameters"])
            device = summary["device"]
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC  {platform.node()}  {os.cpu_count()} cores  "
        f"device={device_name(args, device)}  mlp={args.hidden} ({params / 1e6:.2f} M params)  "
        f"batch/proc={args.batch_size} steps={args.steps} repeats={args.repeats} "
        f"threads/proc={args.threads}"
    )
    # Scaling on a shared machine depends on what else runs: say how busy it was.
    load_end = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load_start} at start, {load_end} at end")
    return median_table(samples)


def device_name(args: argparse.Namespace, device: str) -> str:
    if args.device != "cuda":
        return device
    import torch

    return f"{device} ({torch.cuda.get_device_name(0)})"


def scaling_report(medians: dict[str, float], one: str, two: str) -> None:
    efficiency = medians[two] / (2 * medians[one])
    print(f"  speed-up 2 vs 1 procs: x{medians[two] / medians[one]:.2f}")
    print(f"  scaling efficiency: {efficiency:.0%}  (100% = twice the 1-process samples/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per run")
    parser.add_argument("--batch-size", type=int, default=None, help="per process")
    parser.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",")], default=None)
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    args = parser.parse_args()
    cuda = args.device == "cuda"
    args.steps = args.steps or (400 if cuda else 150)
    args.batch_size = args.batch_size or (1024 if cuda else 64)
    args.hidden = args.hidden or ([4096, 4096, 4096, 4096] if cuda else [1024, 1024, 1024])
    if cuda:
        args.samples = max(args.samples, 4 * args.batch_size)

    if not cuda:
        medians = measure(args, {"1 process": (1, "fp32"), "2 gloo processes": (2, "fp32")})
        scaling_report(medians, "1 process", "2 gloo processes")
        return

    import torch

    if not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible")
    contenders = {
        "fp32": (1, "fp32"),
        "bf16 autocast": (1, "bf16"),
        "fp16 + GradScaler": (1, "fp16"),
    }
    if torch.cuda.device_count() >= 2:
        contenders["2 NCCL processes, bf16"] = (2, "bf16")
    medians = measure(args, contenders)
    for name in ("bf16 autocast", "fp16 + GradScaler"):
        print(f"  AMP speed-up {name} / fp32: x{medians[name] / medians['fp32']:.2f}")
    if "2 NCCL processes, bf16" in medians:
        scaling_report(medians, "bf16 autocast", "2 NCCL processes, bf16")


if __name__ == "__main__":
    main()

"""GPU throughput: samples/s and MFU of cloudgd's trainer vs a hand-written loop.

For an MLP, a ResNet-18-shaped ResNet and BERT-base (the Vertex BERT example's model,
random weights from its config: nothing is downloaded), at fp32, TF32 and bf16
autocast. The hand loop is a careful one (same model, data on the device, fused AdamW,
the same TF32/bf16/channels-last settings), so trainer/hand measures the trainer's
own overhead. Also reported: the trainer's data-wait fraction and its ``performance``
record. Contenders run interleaved, ``--repeats`` rounds; medians are reported.

MFU = measured model FLOPs per second (forward + backward of one batch, counted by
``torch.utils.flop_counter``) / the accelerator's dense bf16 peak from the bundled
``cloudgd/data/accelerators.csv`` (a copy of ../shared/data/accelerators.csv); the same
peak is used for every precision, so fp32's MFU shows how far it is from tensor-core
speed. Where the table has no figure for the GPU, MFU is "n/a" unless
``--peak-tflops`` gives one (say where it came from).

    python bench/gpu_bench.py --out results/            (a GPU, full size)
    python bench/gpu_bench.py --size tiny --device cpu  (seconds: what the tests run)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trainers.config import TrainConfig  # noqa: E402
from trainers.context import Flags, detect_context  # noqa: E402
from trainers.data import load_dataset  # noqa: E402
from trainers.loop import Trainer  # noqa: E402
from trainers.metrics import MetricsLogger  # noqa: E402
from trainers.models import build_model  # noqa: E402
from trainers.objective import loss_function, model_outputs  # noqa: E402
from trainers.signals import StopFlag  # noqa: E402

ACCELERATORS_CSV = REPO / "cloudgd" / "data" / "accelerators.csv"
MODES = ("fp32", "tf32", "bf16")
BERT_BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
}
# (full, tiny) sizes of each workload
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "mlp": {
        "full": {"rows": 65536, "features": 1024, "hidden": [4096, 4096, 4096], "batch": 1024},
        "tiny": {"rows": 256, "features": 16, "hidden": [32], "batch": 32},
    },
    "resnet": {
        "full": {"rows": 16384, "side": 32, "hidden": [64, 128, 256, 512], "batch": 256},
        "tiny": {"rows": 64, "side": 8, "hidden": [4, 8], "batch": 16},
    },
    "bert": {
        "full": {"config": BERT_BASE, "length": 128, "batch": 32},
        "tiny": {"config": {}, "length": 16, "batch": 8},
    },
}


def peak_tflops(device: torch.device, override: float | None) -> tuple[float | None, str]:
    """(dense bf16 TFLOPS, where it came from) for this device."""
    if override is not None:
        return override, "--peak-tflops"
    if device.type != "cuda":
        return None, "no peak for a CPU in accelerators.csv"
    name = torch.cuda.get_device_name(device)
    with ACCELERATORS_CSV.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # "NVIDIA A100-SXM4-80GB" -> A100-80GB, "NVIDIA H100 80GB HBM3" -> H100-SXM, ...
    memory_gib = torch.cuda.get_device_properties(device).total_memory / 2**30
    for row in sorted(rows, key=lambda r: -len(r["accelerator"])):
        family = row["accelerator"].split("-")[0]
        if family in name and abs(float(row["memory_gib"] or 0) - memory_gib) < 8:
            figure = row["bf16_tflops_dense"]
            if not figure:
                return None, f"accelerators.csv row {row['accelerator']} has no bf16 figure"
            return float(figure), f"accelerators.csv row {row['accelerator']}"
    return None, f"no accelerators.csv row matches {name!r}"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tiny_bert_dir(tmp: Path) -> Path:
    """The example's tokenizer (trained on the bundled reviews) with a BERT config."""
    sys.path.insert(0, str(REPO / "examples" / "data"))
    import make_tiny_bert

    return Path(
        make_tiny_bert.build(
            tmp / "bert", make_tiny_bert.texts(REPO / "examples" / "data" / "reviews.csv")
        )
    )


def workload_config(
    name: str, size: str, tmp: Path, device: str, mode: str, steps: int
) -> dict[str, Any]:
    """A TrainConfig dict for ``name`` at ``size`` and precision ``mode``."""
    s = SIZES[name][size]
    cfg: dict[str, Any] = {
        "optimizer": {"name": "adamw", "lr": 1e-4},
        "epochs": 10**6,
        "max_steps": steps,
        "batch_size": s["batch"],
        "log_every_steps": max(1, steps // 4),
        "checkpoint": {"every_steps": 10**9, "resume": False},
        "device": device,
        "compile": False,  # measured separately: compile time is not a steady-state figure
        "precision": "bf16" if mode == "bf16" else "fp32",
        "performance": {"tf32": mode != "fp32"},
    }
    if name == "mlp":
        cfg["model"] = {"kind": "mlp", "hidden": s["hidden"]}
        cfg["data"] = {
            "source": "synthetic_classification",
            "n_samples": s["rows"],
            "n_features": s["features"],
            "n_classes": 10,
            "val_fraction": 0.0,
        }
    elif name == "resnet":
        path = tmp / f"images-{s['side']}.npz"
        if not path.exists():
            rng = np.random.default_rng(0)
            x = rng.normal(size=(s["rows"], 3, s["side"], s["side"])).astype(np.float32)
            np.savez(path, x=x, y=rng.integers(0, 10, size=s["rows"]))
        cfg["model"] = {"kind": "resnet", "hidden": s["hidden"], "args": {"blocks": 2}}
        cfg["data"] = {"source": "npz", "uri": str(path), "val_fraction": 0.0, "standardize": False}
    else:
        cfg["model"] = {
            "kind": "huggingface",
            "name": str(tmp / "bert"),
            "args": {"pretrained": False, "config": s["config"]},
        }
        cfg["data"] = {
            "source": "text_csv",
            "uri": str(REPO / "examples" / "data" / "reviews.csv"),
            "max_length": s["length"],
            "val_fraction": 0.0,
        }
    return cfg


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def set_tf32(on: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def run_trainer(cfg: TrainConfig, tmp: Path) -> dict[str, Any]:
    flags = Flags(
        output_dir=str(tmp / "o"), model_dir=str(tmp / "m"), checkpoint_dir=str(tmp / "c")
    )
    ctx = detect_context(flags, env={}, cwd=tmp)
    from trainers.setup import build_setup

    with quiet():
        s = build_setup(cfg, ctx)
        trainer = Trainer(cfg, s, MetricsLogger(tmp, False), StopFlag())
        sync(s.device)
        trainer.fit()
        sync(s.device)
    return {
        "samples_per_sec": trainer.samples_seen / trainer.train_time,
        "data_wait_fraction": trainer.data_wait / trainer.train_time,
        "performance": dict(s.speed.record),
    }


class HandLoop:
    """The loop one writes by hand, built once per workload and mode."""

    def __init__(self, cfg: TrainConfig, device: torch.device, mode: str) -> None:
        with quiet():
            ds = load_dataset(cfg.data, cfg.seed, cfg.model.kind, model=cfg.model)
        self.device, self.cfg, self.mode = device, cfg, mode
        self.x, self.y = ds.x_train.to(device), ds.y_train.to(device)
        outputs = model_outputs(ds.task, ds.num_outputs, cfg.model.kind)
        torch.manual_seed(0)
        with quiet():
            self.model = build_model(cfg.model, ds.input_shape, outputs, None).to(device)
        self.conv = cfg.model.kind in ("cnn", "resnet") and device.type == "cuda"
        if self.conv:
            self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.loss_fn = loss_function(ds.task, outputs)
        cuda = device.type == "cuda"
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-4, fused=cuda)
        # one batch: what the FLOP counter and the MFU use
        self.batch_rows = min(cfg.batch_size, int(self.x.shape[0]))

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.mode != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def step(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.x[idx]
        if self.conv:
            x = x.contiguous(memory_format=torch.channels_last)
        self.opt.zero_grad(set_to_none=True)
        with self.autocast():
            loss = self.loss_fn(self.model(x), self.y[idx])
        loss.backward()
        self.opt.step()
        return loss

    def flops_per_step(self) -> float:
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            self.step(torch.arange(self.batch_rows, device=self.device))
        return float(counter.get_total_flops())

    def run(self, steps: int) -> float:
        n, bs, done, samples = int(self.x.shape[0]), self.cfg.batch_size, 0, 0
        sync(self.device)
        start = time.perf_counter()
        while done < steps:
            perm = torch.randperm(n, device=self.device)
            for i in range(0, n, bs):
                idx = perm[i : i + bs]
                self.step(idx)
                samples += int(idx.shape[0])
                done += 1
                if done == steps:
                    break
        sync(self.device)
        return samples / (time.perf_counter() - start)


def bench_one(
    name: str, mode: str, args: argparse.Namespace, tmp: Path, peak: float | None
) -> dict[str, Any]:
    device = torch.device(args.device)
    set_tf32(mode != "fp32")
    cfg = TrainConfig.model_validate(
        workload_config(name, args.size, tmp, args.device, mode, args.steps)
    )
    hand = HandLoop(cfg, device, mode)
    flops = hand.flops_per_step()
    hand.run(max(1, args.steps // 10))  # warm-up: kernels, autotuning, allocator
    hands, trainers, waits = [], [], []
    record: dict[str, Any] = {}
    for _ in range(args.repeats):
        hands.append(hand.run(args.steps))
        result = run_trainer(cfg, tmp / f"{name}-{mode}")
        trainers.append(result["samples_per_sec"])
        waits.append(result["data_wait_fraction"])
        record = result["performance"]
    ratio = statistics.median(t / h for t, h in zip(trainers, hands, strict=True))
    trainer_sps = statistics.median(trainers)
    flops_per_sample = flops / hand.batch_rows
    mfu = None if peak is None else trainer_sps * flops_per_sample / (peak * 1e12)
    return {
        "workload": name,
        "mode": mode,
        "trainer_samples_per_sec": trainer_sps,
        "hand_samples_per_sec": statistics.median(hands),
        "trainer_over_hand": ratio,
        "model_flops_per_sample": flops_per_sample,
        "mfu": mfu,
        "data_wait_fraction": statistics.median(waits),
        "performance": record,
    }


def have_transformers() -> str | None:
    try:
        import tokenizers  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        return f"bert skipped: {exc.name} is not installed (pip install 'cloudgd[hf]')"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--workloads", default="mlp,resnet,bert")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write results.json here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    peak, peak_source = peak_tflops(device, args.peak_tflops)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"device={name} torch={torch.__version__} size={args.size} steps={args.steps} "
        f"repeats={args.repeats} peak={peak} TFLOPS ({peak_source})"
    )
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for workload in args.workloads.split(","):
            if workload == "bert":
                reason = have_transformers()
                if reason:
                    skipped.append(reason)
                    print(reason)
                    continue
                with quiet():
                    tiny_bert_dir(tmp)
            for mode in args.modes.split(","):
                if mode == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
                    skipped.append(f"{workload} bf16 skipped: this GPU has no bf16")
                    continue
                row = bench_one(workload, mode, args, tmp, peak)
                rows.append(row)
                mfu = "n/a" if row["mfu"] is None else f"{row['mfu']:.1%}"
                print(
                    f"  {workload:<7} {mode:<5} trainer {row['trainer_samples_per_sec']:>12,.1f} "
                    f"samples/s  hand {row['hand_samples_per_sec']:>12,.1f}  "
                    f"trainer/hand x{row['trainer_over_hand']:.3f}  MFU {mfu}  "
                    f"data wait {row['data_wait_fraction']:.1%}",
                    flush=True,
                )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        document = {
            "device": name,
            "torch": torch.__version__,
            "size": args.size,
            "steps": args.steps,
            "repeats": args.repeats,
            "peak_tflops": peak,
            "peak_source": peak_source,
            "results": rows,
            "skipped": skipped,
        }
        (args.out / "gpu_bench.json").write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

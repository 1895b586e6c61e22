"""Trainer overhead: cloudgd's trainer vs a hand-written loop vs PyTorch Lightning.

Same MLP, same digits training split (on the device), same AdamW, same batch size
and number of optimizer steps. Contenders run interleaved, ``--repeats`` rounds,
and the medians are compared, so a busy machine slows all of them alike.

    python bench/trainer_overhead.py --device cpu --steps 2000
    python bench/trainer_overhead.py --device cuda --steps 3000 --repeats 5

cloudgd is reported twice: "train" is the trainer's own training time (what its
samples/s counts: evaluation and checkpoint writing excluded), "wall" is the whole
``fit()`` including one final evaluation and one checkpoint. Lightning is skipped with
a printed reason when it is not installed (``pip install lightning``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainers.config import DataConfig, ModelConfig, TrainConfig
from trainers.context import Flags, detect_context
from trainers.data import load_dataset
from trainers.loop import Trainer
from trainers.metrics import MetricsLogger
from trainers.models import build_model
from trainers.setup import build_setup
from trainers.signals import StopFlag

LR = 1e-3


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def samples_in(steps: int, n: int, batch_size: int) -> int:
    """Samples in the first ``steps`` batches of epochs over ``n`` rows, last batch short
    (what the trainer counts; steps x batch size would credit a contender ~2% extra)."""
    per_epoch = math.ceil(n / batch_size)
    epochs, rest = divmod(steps, per_epoch)
    return epochs * n + min(rest * batch_size, n)


def train_tensors(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    ds = load_dataset(DataConfig(source="digits"), seed=0, model_kind="mlp")
    return ds.x_train.to(device), ds.y_train.to(device)


def hand_loop(args: argparse.Namespace, device: torch.device) -> float:
    """The loop one would write by hand: randperm per epoch, slice, step. Returns samples/s."""
    x, y = train_tensors(device)
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="mlp", hidden=args.hidden), (1, 8, 8), 10).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    n, bs, step = x.shape[0], args.batch_size, 0
    sync(device)
    start = time.perf_counter()
    while step < args.steps:
        perm = torch.randperm(n, device=device)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            step += 1
            if step == args.steps:
                break
    sync(device)
    return samples_in(args.steps, n, bs) / (time.perf_counter() - start)


def cloudgd(args: argparse.Namespace, device: torch.device) -> tuple[float, float]:
    """The real trainer (build_setup + Trainer.fit). Returns (train samples/s, wall samples/s)."""
    cfg = TrainConfig(
        model=ModelConfig(kind="mlp", hidden=args.hidden),
        data=DataConfig(source="digits"),
        optimizer={"name": "adamw", "lr": LR},  # type: ignore[arg-type]
        batch_size=args.batch_size,
        epochs=10**6,
        max_steps=args.steps,
        log_every_steps=50,
        eval_every_epochs=10**6,
        checkpoint={"every_steps": 10**9, "resume": False},  # type: ignore[arg-type]
        device=device.type,  # type: ignore[arg-type]
    )
    with tempfile.TemporaryDirectory() as tmp:
        flags = Flags(output_dir=tmp, model_dir=tmp, checkpoint_dir=tmp)
        ctx = detect_context(flags, env={}, cwd=Path(tmp))
        with contextlib.redirect_stdout(io.StringIO()):
            s = build_setup(cfg, ctx)
            trainer = Trainer(cfg, s, MetricsLogger(Path(tmp), False), StopFlag())
            sync(device)
            start = time.perf_counter()
            trainer.fit()
            sync(device)
            wall = time.perf_counter() - start
    return trainer.samples_seen / trainer.train_time, trainer.samples_seen / wall


def lightning_runner() -> Callable[[argparse.Namespace, torch.device], float] | str:
    """A Lightning contender, or the reason there is none."""
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)  # its banners would drown the table
    try:
        import lightning as L
    except ImportError:
        try:
            import pytorch_lightning as L  # type: ignore[no-redef]
        except ImportError:
            return "lightning is not installed (pip install lightning)"

    class Batches(torch.utils.data.Dataset[Any]):
        """Whole batches by index list: no per-sample collation, as fast as slicing."""

        def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
            self.x, self.y = x, y

        def __len__(self) -> int:
            return int(self.x.shape[0])

        def __getitem__(self, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
            index = torch.as_tensor(idx, device=self.x.device)
            return self.x[index], self.y[index]

    class Module(L.LightningModule):
        def __init__(self, hidden: list[int]) -> None:
            super().__init__()
            self.net = build_model(ModelConfig(kind="mlp", hidden=hidden), (1, 8, 8), 10)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss = F.cross_entropy(self.net(x), y)
            self.log("loss", loss)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.AdamW(self.parameters(), lr=LR)

    class Clock(L.Callback):
        def on_train_start(self, trainer: Any, module: Any) -> None:
            sync(module.device)
            self.start = time.perf_counter()

        def on_train_end(self, trainer: Any, module: Any) -> None:
            sync(module.device)
            self.seconds = time.perf_counter() - self.start

    def run(args: argparse.Namespace, device: torch.device) -> float:
        x, y = train_tensors(device)
        torch.manual_seed(0)
        sampler = torch.utils.data.BatchSampler(
            torch.utils.data.RandomSampler(range(len(x))), args.batch_size, drop_last=False
        )
        loader = torch.utils.data.DataLoader(Batches(x, y), sampler=sampler, batch_size=None)
        clock = Clock()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            trainer = L.Trainer(
                max_steps=args.steps,
                accelerator="gpu" if device.type == "cuda" else "cpu",
                devices=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                log_every_n_steps=50,
                callbacks=[clock],
            )
            trainer.fit(Module(args.hidden), train_dataloaders=loader)
        return samples_in(args.steps, len(x), args.batch_size) / clock.seconds

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--hidden", type=lambda s: [int(v) for v in s.split(",")], default=[128, 64]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    lightning = lightning_runner()
    if isinstance(lightning, str):
        print(f"skipping Lightning: {lightning}")
    hand_loop(args, device)  # warm-up: CUDA context, kernels, allocator
    results: dict[str, list[float]] = {"hand loop": [], "cloudgd (train)": [], "cloudgd (wall)": []}
    if not isinstance(lightning, str):
        results["lightning"] = []
    for _ in range(args.repeats):
        results["hand loop"].append(hand_loop(args, device))
        train, wall = cloudgd(args, device)
        results["cloudgd (train)"].append(train)
        results["cloudgd (wall)"].append(wall)
        if not isinstance(lightning, str):
            results["lightning"].append(lightning(args, device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"device={name} torch={torch.__version__} mlp={args.hidden} batch={args.batch_size} "
        f"steps={args.steps} repeats={args.repeats} threads={args.threads}"
    )
    medians = {k: statistics.median(v) for k, v in results.items()}
    print(f"  {'':<16} {'samples/s':>12}  {'(min..max)':<22} median of per-round ratios")
    for key, value in medians.items():
        spread = f"({min(results[key]):,.0f}..{max(results[key]):,.0f})"
        # each round runs every contender back to back: its ratio cancels slow drift
        pairs = [a / h for a, h in zip(results[key], results["hand loop"], strict=True)]
        ratio = statistics.median(pairs)
        print(f"  {key:<16} {value:>12,.0f}  {spread:<22} x{ratio:.3f} of hand loop")
    if "lightning" in medians:
        ours, theirs = results["cloudgd (train)"], results["lightning"]
        pairs = [a / b for a, b in zip(ours, theirs, strict=True)]
        print(f"  cloudgd (train) / lightning: x{statistics.median(pairs):.3f}")


if __name__ == "__main__":
    main()

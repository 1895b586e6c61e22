"""A plain PyTorch training script: its own model, loop and argparse.

It knows nothing of cloudgd except the environment variables of docs/scripts.md:
CLOUDGD_DATA_DIR (train.csv: feature columns, then the target), CLOUDGD_MODEL_DIR,
CLOUDGD_CHECKPOINT_DIR and, under DDP, torchrun's RANK / WORLD_SIZE. Outside cloudgd
it runs as it is (the defaults point at ./data and ./outputs).

Spot capacity and restarts: a checkpoint is saved to CLOUDGD_CHECKPOINT_DIR after
every epoch (written to a temporary name, then renamed, so a kill never leaves half a
file), and a start resumes from it. Each epoch's shuffle is seeded by the epoch, so a
resumed run ends with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train a small MLP regressor on train.csv.")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--epoch-seconds", type=float, default=0.0, help="pause after each epoch (demos, tests)"
    )
    return parser.parse_args()


def env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default)


class Regressor(nn.Module):
    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x)).squeeze(-1)


def load(data_dir: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    table = np.loadtxt(data_dir / "train.csv", delimiter=",", skiprows=1, dtype=np.float32)
    x, y = torch.from_numpy(table[:, :-1]), torch.from_numpy(table[:, -1])
    cut = int(len(x) * 0.8)
    mean, std = x[:cut].mean(0), x[:cut].std(0) + 1e-6
    x = (x - mean) / std
    return x[:cut], y[:cut], x[cut:], y[cut:]


def save_checkpoint(path: Path, state: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a kill leaves the old checkpoint or the new one


def main() -> None:
    args = parse_args()
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if cuda else "cpu")
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo", init_method="env://")
    data_dir = env_path("CLOUDGD_DATA_DIR", "data")
    model_dir = env_path("CLOUDGD_MODEL_DIR", "outputs/model")
    checkpoint = env_path("CLOUDGD_CHECKPOINT_DIR", "outputs/checkpoints") / "last.pt"

    torch.manual_seed(args.seed)
    x_train, y_train, x_val, y_val = (t.to(device) for t in load(data_dir))
    model = Regressor(x_train.shape[1], args.hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    start = 1
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["epoch"]) + 1
        if rank == 0:
            print(f"resumed from {checkpoint} after epoch {state['epoch']}", flush=True)
    ddp = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    loss_fn = nn.MSELoss()

    for epoch in range(start, args.epochs + 1):
        order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(epoch))
        order = order.to(device)
        order = order[: len(order) - len(order) % world][rank::world]  # equal shards per rank
        ddp.train()
        total = 0.0
        for begin in range(0, len(order), args.batch_size):
            batch = order[begin : begin + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(ddp(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(x_val), y_val).item()
        if rank == 0:
            print(
                f"epoch={epoch} loss={total / len(order):.6f} val_loss={val_loss:.6f}", flush=True
            )
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
            save_checkpoint(checkpoint, {**state, "epoch": epoch})
        if args.epoch_seconds:
            time.sleep(args.epoch_seconds)

    if rank == 0:
        model_dir.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), model_dir / "model.pt")
        print(f"saved {model_dir / 'model.pt'}", flush=True)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

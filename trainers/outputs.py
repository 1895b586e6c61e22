"""What a run leaves behind: model.pt, model_final.pt, model.json, summary.json."""

from __future__ import annotations

import platform as pyplatform
import shutil
from pathlib import Path
from typing import Any

import torch

from trainers import __version__
from trainers import checkpoint as ckpt
from trainers.config import TrainConfig
from trainers.distributed import unwrap
from trainers.errors import TrainerError
from trainers.loop import Trainer, count_parameters
from trainers.metrics import SUMMARY_NAME, write_json

MODEL_NAME = "model.pt"
FINAL_NAME = "model_final.pt"
MODEL_JSON = "model.json"
HF_DIR = "hf"


def write_model(cfg: TrainConfig, trainer: Trainer) -> str:
    """model.pt (best validation weights when there are any, else final), model_final.pt
    and model.json; returns which weights model.pt holds ("best" or "final")."""
    s = trainer.s
    model_dir = s.ctx.model_dir
    model_dir.mkdir(parents=True, exist_ok=True)
    final = unwrap(s.model).state_dict()
    ckpt.atomic_save(final, model_dir / FINAL_NAME)
    best = s.ctx.checkpoint_dir / ckpt.BEST_NAME
    weights = "final"
    if trainer.progress.best_value is not None and best.is_file():
        trainer.writer.wait()  # best.pt may still be being written
        problem = ckpt.verify_weights(best, final)
        if problem is not None:
            raise TrainerError(
                f"the best checkpoint {best} is unusable: {problem}; model.pt was not "
                f"written ({FINAL_NAME} holds the final weights)",
                hint="rerun without checkpoint.resume, or publish model_final.pt yourself",
            )
        _copy_verified(best, model_dir / MODEL_NAME)
        weights = "best"
    else:
        ckpt.atomic_save(final, model_dir / MODEL_NAME)
    if cfg.model.kind == "huggingface":
        from trainers.hf import save_pretrained

        # The final weights, loadable with from_pretrained(model_dir / "hf").
        save_pretrained(unwrap(s.model), cfg.model, model_dir / HF_DIR)
    ds = s.dataset
    p = trainer.progress
    write_json(
        model_dir / MODEL_JSON,
        {
            "format": 1,
            "trainer_version": __version__,
            "torch_version": torch.__version__,
            "config": cfg.model_dump(mode="json"),
            "task": ds.task,
            "input_shape": list(ds.input_shape),
            "output_shape": [s.num_outputs],
            "classes": ds.classes,
            "standardize": {"mean": ds.mean, "std": ds.std} if ds.mean is not None else None,
            "weights": weights,
            "best": {"metric": trainer.monitor, "value": p.best_value, "step": p.best_step},
            "num_parameters": count_parameters(s.model),
        },
    )
    return weights


def _copy_verified(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically, checking the copy's bytes."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    if ckpt.file_digest(tmp) != ckpt.file_digest(source):
        tmp.unlink(missing_ok=True)
        raise TrainerError(f"copying {source} to {target} gave different bytes")
    tmp.replace(target)


def summary(
    cfg: TrainConfig, trainer: Trainer, wall_time: float, weights: str | None
) -> dict[str, Any]:
    """The run's final and best metrics and how it ended."""
    s, p = trainer.s, trainer.progress
    final: dict[str, Any] = {"loss": p.last_train_loss, **p.last_val}
    return {
        "stopped_reason": p.stopped_reason,
        "steps": p.step,
        "epochs": p.epoch,
        "planned_steps": s.total_steps,
        "final": final,
        "best": {
            "metric": trainer.monitor,
            "mode": trainer.monitor_mode,
            "value": p.best_value,
            "step": p.best_step,
            "epoch": p.best_epoch,
        },
        "wall_time_s": round(wall_time, 3),
        "train_time_s": round(trainer.train_time, 3),
        "samples_per_sec": round(trainer.samples_seen / trainer.train_time, 1)
        if trainer.train_time > 0
        else None,
        # the share of training time the steps spent waiting for their batches
        "data_wait_fraction": round(min(1.0, trainer.data_wait / trainer.train_time), 4)
        if trainer.train_time > 0
        else None,
        "performance": dict(s.speed.record),
        "device": str(s.device),
        "world_size": s.ctx.world_size,
        "platform": s.ctx.platform,
        "global_batch": s.global_batch,
        "base_lr": s.base_lr,
        "final_lr": s.optimizer.param_groups[0]["lr"],
        "bad_steps": p.bad_steps,
        "grad_warnings": p.warnings,
        "resumed_from_step": trainer.resumed_from,
        "model_weights": weights,
        "num_parameters": count_parameters(s.model),
        "task": s.task,
        "python": pyplatform.python_version(),
        "torch": torch.__version__,
        "seed": cfg.seed,
    }


def write_summary(
    cfg: TrainConfig, trainer: Trainer, wall_time: float, weights: str | None
) -> None:
    if trainer.s.ctx.is_main:
        write_json(
            trainer.s.ctx.output_dir / SUMMARY_NAME, summary(cfg, trainer, wall_time, weights)
        )

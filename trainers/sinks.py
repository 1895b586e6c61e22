"""Optional metric sinks: TensorBoard, Vertex hyperparameter tuning, MLflow.

Each sink is created only when its platform asks for it and its package imports;
a sink that fails to start prints one warning and the run goes on without it.
"""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol

HP_MAX_ENTRIES = 100  # cloudml-hypertune keeps the last 100 entries
HP_DEFAULT_TAGS = ("val_loss", "val_accuracy", "val_mse", "val_r2")


class Sink(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def _scalars(record: dict[str, Any]) -> dict[str, float]:
    skip = {"step", "epoch", "kind"}
    return {
        k: float(v)
        for k, v in record.items()
        if k not in skip and isinstance(v, int | float) and not isinstance(v, bool)
    }


class TensorBoardSink:
    """Scalars under ``train/`` (step records) and ``epoch/`` (epoch records)."""

    def __init__(self, log_dir: Path, purge_step: int | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        log_dir.mkdir(parents=True, exist_ok=True)
        # purge_step drops events a killed run logged after its last checkpoint.
        self.writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)

    def write(self, record: dict[str, Any]) -> None:
        prefix = "train" if record.get("kind") == "step" else "epoch"
        for key, value in _scalars(record).items():
            self.writer.add_scalar(f"{prefix}/{key}", value, global_step=int(record["step"]))

    def close(self) -> None:
        self.writer.close()


class HypertuneSink:
    """Writes cloudml-hypertune's file format directly (no extra package needed).

    One JSON line per reported metric: ``{"global_step": "n", "<tag>": "v",
    "timestamp": t, "trial": "id"}``, sorted keys, the file rewritten each time
    with the last 100 entries. Reports epoch records' validation metrics, or only
    the tags in ``$CLOUDGD_HP_METRIC`` (comma separated) when it is set.
    """

    def __init__(self, path: Path, trial_id: str | None, tags: tuple[str, ...]) -> None:
        self.path = path
        self.trial = str(trial_id or 0)
        self.tags = tags
        self.entries: deque[dict[str, Any]] = deque(maxlen=HP_MAX_ENTRIES)
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        if record.get("kind") != "epoch":
            return
        added = False
        for tag in self.tags:
            value = record.get(tag)
            if isinstance(value, int | float):
                self.entries.append(
                    {
                        "timestamp": time.time(),
                        "trial": self.trial,
                        tag: str(float(value)),
                        "global_step": str(int(record["step"])),
                    }
                )
                added = True
        if added:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in self.entries))
            tmp.replace(self.path)

    def close(self) -> None:
        return None


class MlflowSink:
    """``mlflow.log_metrics`` per record; Azure ML points MLflow at the workspace."""

    def __init__(self) -> None:
        import mlflow

        self.mlflow = mlflow
        self.own_run = mlflow.active_run() is None
        if self.own_run:
            mlflow.start_run()

    def write(self, record: dict[str, Any]) -> None:
        prefix = "" if record.get("kind") == "epoch" else "train_"
        metrics = {f"{prefix}{k}": v for k, v in _scalars(record).items()}
        self.mlflow.log_metrics(metrics, step=int(record["step"]))

    def close(self) -> None:
        if self.own_run:
            self.mlflow.end_run()


def try_sink(name: str, factory: Any, *args: Any) -> Sink | None:
    """Build a sink, or print why not and return None (sinks are never fatal)."""
    try:
        sink: Sink = factory(*args)
        return sink
    except ImportError:
        return None
    except Exception as exc:
        print(f"warning: {name} metrics disabled: {exc}", flush=True)
        return None

"""Fixtures for report tests: a private CLOUDGD_HOME and runs written as the trainer writes them."""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from providers.local import procs
from providers.local.trust import mark_root, mark_run

WriteRun = Callable[..., Path]


@pytest.fixture(autouse=True)
def cloudgd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(home))
    monkeypatch.delenv("CLOUDGD_OUTPUT", raising=False)
    return home


def trainer_records(epochs: int = 3, steps_per_epoch: int = 4, scale: float = 1.0) -> list[dict]:
    """Records shaped like trainers/loop.py's: a step record every 2 steps, one per epoch."""
    records: list[dict[str, Any]] = []
    for step in range(1, epochs * steps_per_epoch + 1):
        epoch = (step - 1) // steps_per_epoch + 1
        if step % 2 == 0:
            records.append(
                {
                    "kind": "step",
                    "step": step,
                    "epoch": epoch,
                    "loss": scale * 2.0 / step,
                    "lr": 0.01 * (1 - step / 100),
                    "grad_norm": 1.0 / step,
                    "samples_per_sec": 1000.0 + step,
                }
            )
        if step % steps_per_epoch == 0:
            records.append(
                {
                    "kind": "epoch",
                    "step": step,
                    "epoch": epoch,
                    "loss": scale * 1.9 / step,
                    "val_loss": scale * 2.5 / step,
                    "val_accuracy": 0.5 + 0.1 * epoch,
                    "lr": 0.01 * (1 - step / 100),
                }
            )
    return records


def summary_for(records: list[dict[str, Any]]) -> dict[str, Any]:
    last = [r for r in records if r["kind"] == "epoch"][-1]
    return {
        "stopped_reason": "completed",
        "steps": last["step"],
        "epochs": last["epoch"],
        "final": {k: last[k] for k in ("loss", "val_loss", "val_accuracy")},
        "best": {"metric": "val_loss", "mode": "min", "value": last["val_loss"], "step": 12},
        "wall_time_s": 2.5,
        "samples_per_sec": 1234.5,
        "task": "classification",
    }


def write_output(directory: Path, records: list[dict[str, Any]], summary: bool = True) -> Path:
    """metrics.jsonl (and summary.json) in ``directory``, as the trainer writes them."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (directory / "metrics.jsonl").write_text(lines, encoding="utf-8")
    if summary:
        (directory / "summary.json").write_text(json.dumps(summary_for(records)))
    return directory


@pytest.fixture
def local_run(tmp_path: Path) -> WriteRun:
    """A finished local run directory (plan.json, state.json, output/) with no processes."""

    def write(
        name: str = "digits-mlp-0123abcd",
        records: list[dict[str, Any]] | None = None,
        state: str = "succeeded",
        optimizer: str = "adamw",
    ) -> Path:
        run = tmp_path / "runs" / name
        output = run / "output"
        output.mkdir(parents=True)
        mark_root(run.parent)
        mark_run(run, name)
        request = {
            "run_dir": str(run),
            "config": {"epochs": 3, "optimizer": {"name": optimizer, "lr": 0.01}},
            "layout": {"artifacts": {"output_dir": str(output)}},
        }
        plan = {"provider": "local", "request": request, "handle": f"local://{run}"}
        (run / "plan.json").write_text(json.dumps(plan))
        (run / "state.json").write_text(
            json.dumps(
                {
                    "job_name": name,
                    "state": state,
                    "created_at": "2026-01-02T03:04:00+00:00",
                    "started_at": "2026-01-02T03:04:05+00:00",
                    "ended_at": "2026-01-02T03:04:35+00:00" if state != "running" else None,
                    # A running run needs a live supervisor: this test process stands in.
                    "supervisor": {"pid": os.getpid(), "start_time": procs.start_time(os.getpid())}
                    if state == "running"
                    else None,
                    "host": None,
                }
            )
        )
        if records is not None:
            write_output(output, records)
        return run

    return write


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz of ``members`` (name -> bytes), as SageMaker packs a job's output."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()

"""A local study's directory: its state file, log, results, and how to read them.

``<runs>/studies/<name>/`` holds ``study.json`` (state, driver pid, one entry per
trial), ``study.log`` (progress lines), ``results.csv`` / ``best.json`` when it
ends, ``cancel-requested`` when someone asked it to stop, and ``trials/`` with one
ordinary local run per trial. Everything here works from the directory alone, so
``cloudgd status|logs|cancel`` can follow a study from another process.
"""

from __future__ import annotations

import csv
import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from cloudgd.plan import JobHandle, JobState, JobStatus
from cloudgd.tuning.handle import as_tuning
from cloudgd.tuning.status import StudyStatus
from cloudgd.tuning.trials import trial_counts
from providers.local.rundir import now_iso, write_json_atomic

STATE = "study.json"
LOG = "study.log"
RESULTS = "results.csv"
BEST = "best.json"
CANCEL = "cancel-requested"
TRIALS = "trials"


class StudyDir:
    """One study's files; writes are atomic and serialised within the driver process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    @property
    def state_file(self) -> Path:
        return self.path / STATE

    @property
    def log_file(self) -> Path:
        return self.path / LOG

    @property
    def trials_dir(self) -> Path:
        return self.path / TRIALS

    @property
    def cancel_file(self) -> Path:
        return self.path / CANCEL

    def exists(self) -> bool:
        return self.state_file.is_file()

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def update(self, change: Any) -> dict[str, Any]:
        """Apply ``change(state)`` and write the result atomically."""
        with self._lock:
            state = self.read()
            change(state)
            write_json_atomic(self.state_file, state)
            return state

    def log(self, line: str) -> None:
        with self._lock, self.log_file.open("a", encoding="utf-8") as out:
            out.write(f"{now_iso()} {line}\n")

    def cancel_requested(self) -> bool:
        return self.cancel_file.exists()

    def request_cancel(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.cancel_file.write_text(now_iso() + "\n", encoding="utf-8")

    def write_results(self, trials: list[dict[str, Any]], best: dict[str, Any] | None) -> None:
        """results.csv (one row per trial, parameters as columns) and best.json."""
        params = sorted({p for t in trials for p in t.get("params", {})})
        rows = [
            {
                "trial": t["number"],
                "state": t["state"],
                "value": "" if t.get("value") is None else t["value"],
                **{p: t.get("params", {}).get(p, "") for p in params},
                "run": t.get("handle", ""),
            }
            for t in sorted(trials, key=lambda t: t["number"])
        ]
        with (self.path / RESULTS).open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=["trial", "state", "value", *params, "run"])
            writer.writeheader()
            writer.writerows(rows)
        write_json_atomic(self.path / BEST, best or {})


_STATES = {
    "RUNNING": JobState.RUNNING,
    "STOPPING": JobState.STOPPING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}


def _time(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def study_handle(study_dir: Path) -> str:
    """The tuning handle of the study in ``study_dir``: ``local://<dir>?kind=tuning``."""
    return str(as_tuning(JobHandle(provider="local", parts=(str(study_dir),))))


def study_status(study: StudyDir, handle: str) -> JobStatus:
    """The study as one JobStatus: its state, the best value, and every trial (a
    :class:`StudyStatus` in ``extra``)."""
    state = study.read()
    raw = state.get("state")
    best = state.get("best") or {}
    metric = state.get("metric", "objective")
    trials = state.get("trials", [])
    return JobStatus(
        handle=handle,
        name=state.get("name") or study.path.name,
        state=_STATES.get(str(raw), JobState.UNKNOWN),
        raw_state=raw,
        message=state.get("message"),
        created_at=_time(state.get("created_at")),
        started_at=_time(state.get("created_at")),
        ended_at=_time(state.get("ended_at")),
        metrics={metric: best["value"]} if best.get("value") is not None else {},
        extra=StudyStatus(
            study_dir=str(study.path),
            trial_counts=trial_counts(trials),
            best=best,
            trials=trials,
        ).to_extra(),
    )

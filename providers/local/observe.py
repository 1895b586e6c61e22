"""Reading a run's state as any process sees it, and turning it into a JobStatus.

``observe`` is where a run whose supervisor vanished stops being RUNNING: if the
recorded supervisor is no longer alive (pid gone, zombie, or pid reused by
another program) while the state is not terminal, the run is recorded FAILED
("supervisor died") and any rank still running is sent SIGTERM. A run that was
written but whose supervisor never started is FAILED after a startup timeout.
"""

from __future__ import annotations

import os
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloudgd.plan import JobStatus
from cloudgd.report.runfiles import summary_metrics
from providers.local import procs
from providers.local import states as st
from providers.local.logstream import tail_lines
from providers.local.rundir import RunDir, now_iso

STARTUP_TIMEOUT = 30.0  # seconds a run may stay pending without a supervisor
_SUMMARY = "summary.json"
_METRICS = "metrics.jsonl"
_SKIP_DIRS = {"trainers", "code", "input", "logs", "__pycache__", "pkg", "mlruns"}


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _orphan_reason(state: dict[str, Any]) -> str | None:
    """Why a non-terminal run can no longer progress, or None while it can."""
    sup = state.get("supervisor")
    if sup:
        if procs.alive(sup.get("pid"), sup.get("start_time")):
            return None
        return f"supervisor (pid {sup.get('pid')}) died without recording an exit code"
    created = _parse_time(state.get("created_at"))
    if created and (datetime.now(UTC) - created).total_seconds() > STARTUP_TIMEOUT:
        return f"the supervisor never started within {STARTUP_TIMEOUT:g}s"
    return None


def observe(run: RunDir) -> dict[str, Any]:
    """The run's state, with an orphaned run settled as FAILED (or CANCELLED if asked)."""
    state = run.read_state()
    if state is None:
        return {"state": st.PENDING, "job_name": run.name, "message": "run is being written"}
    if state.get("state") in st.TERMINAL:
        return state
    if state.get("host") not in (None, socket.gethostname()):
        return {**state, "message": f"runs on host {state['host']}; not checked from here"}
    if _orphan_reason(state) is None:
        return state

    def settle(current: dict[str, Any]) -> None:
        reason = _orphan_reason(current)
        if current.get("state") in st.TERMINAL or reason is None:
            return
        stopped = [
            r["rank"]
            for r in current.get("ranks", [])
            if r.get("exit_code") is None
            and procs.signal_group(r.get("pid"), signal.SIGTERM, r.get("start_time"))
        ]
        if stopped:
            reason += f"; sent SIGTERM to rank(s) {', '.join(map(str, stopped))} still running"
        tail = tail_lines(run.supervisor_log, 5)
        if tail:
            reason += ":\n" + "\n".join(tail)
        cancelled = bool(current.get("cancel_requested_at"))
        current.update(
            state=st.CANCELLED if cancelled else st.FAILED,
            message=reason,
            ended_at=now_iso(),
        )

    return run.update_state(settle)


def find_summary(run: RunDir, artifacts: dict[str, str]) -> Path | None:
    """summary.json in the contract's output dir, else anywhere in the run's outputs."""
    output = artifacts.get("output_dir")
    if output and (Path(output) / _SUMMARY).is_file():
        return Path(output) / _SUMMARY
    for dirpath, dirnames, filenames in os.walk(run.path):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        if _SUMMARY in filenames:
            return Path(dirpath) / _SUMMARY
    return None


def find_output_dir(run: RunDir, artifacts: dict[str, str]) -> Path:
    """Where the trainer writes metrics.jsonl: the contract's output dir, else the dir
    of any metrics.jsonl or summary.json under the run (the contract's dir if none yet)."""
    output = Path(artifacts.get("output_dir") or run.path / "output")
    if any((output / name).is_file() for name in (_METRICS, _SUMMARY)):
        return output
    for dirpath, dirnames, filenames in os.walk(run.path):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        if _METRICS in filenames or _SUMMARY in filenames:
            return Path(dirpath)
    return output


def to_status(run: RunDir, state: dict[str, Any], handle: str) -> JobStatus:
    """The provider-independent status of a run from its observed state."""
    try:
        request = run.request()
    except (OSError, ValueError, KeyError):
        request = {}
    artifacts = (request.get("layout") or {}).get("artifacts") or {}
    summary = find_summary(run, artifacts) if run.exists() else None
    sup = state.get("supervisor") or {}
    extra: dict[str, Any] = {
        "run_dir": str(run.path),
        "emulate": request.get("emulate"),
        "attempt": state.get("attempt", 0),
        "supervisor_pid": sup.get("pid"),
        "ranks": [
            {"rank": r.get("rank"), "pid": r.get("pid"), "exit_code": r.get("exit_code")}
            for r in state.get("ranks", [])
        ],
        "artifacts": artifacts,
    }
    if summary is not None:
        extra["summary"] = str(summary)
    return JobStatus(
        handle=handle,
        name=state.get("job_name") or run.name,
        state=st.to_job_state(state.get("state")),
        raw_state=state.get("state"),
        message=state.get("message"),
        created_at=_parse_time(state.get("created_at")),
        started_at=_parse_time(state.get("started_at")),
        ended_at=_parse_time(state.get("ended_at")),
        exit_code=state.get("exit_code"),
        metrics=summary_metrics(summary) if summary else {},
        extra=extra,
    )

"""Reading a run's state as any process sees it, and turning it into a JobStatus.

``observe`` is where a run whose supervisor vanished stops being RUNNING: if the
recorded supervisor is no longer alive (pid gone, zombie, or pid reused by
another program) while the state is not terminal, the run is recorded FAILED
("supervisor died") and any rank still running is sent SIGTERM. A run that was
written but whose supervisor never started is FAILED after a startup timeout.
"""

from __future__ import annotations

import contextlib
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
from providers.local.rundir import RunDir, new_state, now_iso

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


def _created(run: RunDir, state: dict[str, Any]) -> datetime | None:
    created = _parse_time(state.get("created_at"))
    if created is not None and created.tzinfo is not None:
        return created
    try:  # a state.json without a usable created_at: the run dir's plan was written then
        return datetime.fromtimestamp(run.plan_file.stat().st_mtime, UTC)
    except OSError:
        return None


def _orphan_reason(run: RunDir, state: dict[str, Any]) -> str | None:
    """Why a non-terminal run can no longer progress, or None while it can."""
    sup = state.get("supervisor")
    if sup:
        if procs.alive(sup.get("pid"), sup.get("start_time")):
            return None
        return f"supervisor (pid {sup.get('pid')}) died without recording an exit code"
    created = _created(run, state)
    if created and (datetime.now(UTC) - created).total_seconds() > STARTUP_TIMEOUT:
        return f"the supervisor never started within {STARTUP_TIMEOUT:g}s"
    return None


def _recorded(run: RunDir, change: Any, fallback: dict[str, Any]) -> dict[str, Any]:
    """``run.update_state(change)``; when the disk refuses, the changed state unrecorded.

    A full disk must not turn every ``status``/``list``/``wait`` into an error: the
    answer is still computed, and says that it could not be written down.
    """
    try:
        result: dict[str, Any] = run.update_state(change)
        return result
    except OSError as exc:
        state = dict(fallback)
        change(state)
        note = f"(not recorded in state.json: {exc.strerror or exc})"
        state["message"] = f"{state.get('message') or ''} {note}".strip()
        return state


def _recover(run: RunDir) -> dict[str, Any]:
    """A run whose state.json cannot be read: rebuild it from its live supervisor, or end it.

    The unreadable file is kept as ``state.json.corrupt``. A supervisor that still
    runs (found by its command line) keeps the run RUNNING and records its end as
    usual; without one the run can never end by itself, so it is recorded FAILED.
    """
    found = procs.find_supervisor(str(run.path))
    corrupt = run.state_file.with_name("state.json.corrupt")

    def rebuild(state: dict[str, Any]) -> None:
        if run.read_state() is not None:  # another process already rebuilt it
            state.update(run.read_state() or {})
            return
        with contextlib.suppress(OSError):
            run.state_file.replace(corrupt)
        created = _created(run, {})
        state.update(created_at=created.isoformat() if created else None)
        if found:
            state.update(
                state=st.RUNNING,
                supervisor={"pid": found[0], "start_time": found[1]},
                message="state.json was unreadable (kept as state.json.corrupt); "
                "rebuilt from the running supervisor",
            )
        else:
            state.update(
                state=st.FAILED,
                ended_at=now_iso(),
                message="state.json was unreadable (kept as state.json.corrupt) and no "
                "supervisor runs for this run; its outcome is unknown: see `cloudgd logs`",
            )

    return _recorded(run, rebuild, new_state(run.name))


def observe(run: RunDir) -> dict[str, Any]:
    """The run's state, with an orphaned run settled as FAILED (or CANCELLED if asked)."""
    state = run.read_state()
    if state is None:
        return _recover(run)
    if state.get("state") in st.TERMINAL:
        return state
    if state.get("host") not in (None, socket.gethostname()):
        return {**state, "message": f"runs on host {state['host']}; not checked from here"}
    if _orphan_reason(run, state) is None:
        return state

    def settle(current: dict[str, Any]) -> None:
        reason = _orphan_reason(run, current)
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

    return _recorded(run, settle, state)


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

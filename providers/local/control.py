"""A local run's processes: start its detached supervisor, and stop it on cancel.

The supervisor (``supervisor.py``) owns the ranks; cancel asks it through the state file
(SIGTERM, grace period, SIGKILL) and, where it is gone or stuck, stops the ranks here.
Only processes this run recorded are signalled, each checked by its start time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from providers.local import procs
from providers.local import states as st
from providers.local.rundir import RunDir, now_iso

_REPO_ROOT = Path(__file__).resolve().parents[2]
_CANCEL_SLACK = 10.0  # beyond the grace period, for the supervisor to record the end


def start_supervisor(run: RunDir, hidden: dict[str, str]) -> None:
    """Start the run's supervisor detached (its own session), and record its pid and start
    time in the state file; ``hidden`` are the variables carrying hidden credentials."""
    env = dict(os.environ)
    env.update(hidden)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO_ROOT), env.get("PYTHONPATH")) if p)
    with run.supervisor_log.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "providers.local.supervisor", str(run.path)],
            cwd=run.path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    born = procs.start_time(proc.pid)

    def record(state: dict[str, Any]) -> None:
        if not state.get("supervisor"):
            state["supervisor"] = {"pid": proc.pid, "start_time": born}

    run.update_state(record)


def stop_run(run: RunDir) -> None:
    """Ask the supervisor of a run that has not ended to stop its ranks, and wait until it
    recorded the end; where the supervisor is gone (or does not finish in time), stop the
    ranks here."""

    def request(state: dict[str, Any]) -> None:
        if state.get("state") not in st.TERMINAL:
            state["cancel_requested_at"] = state.get("cancel_requested_at") or now_iso()
            state["state"] = st.STOPPING

    try:
        run.update_state(request)
    except OSError:
        # the flag cannot be written (full disk): the supervisor takes SIGTERM as a cancel
        sup = (run.read_state() or {}).get("supervisor") or {}
        if procs.is_supervisor(sup.get("pid"), sup.get("start_time"), str(run.path)):
            os.kill(sup["pid"], signal.SIGTERM)
    grace = _grace_period(run)
    deadline = time.monotonic() + grace + _CANCEL_SLACK
    while time.monotonic() < deadline:
        state = run.read_state() or {}
        if state.get("state") in st.TERMINAL:
            return
        sup = state.get("supervisor") or {}
        if sup and not procs.alive(sup.get("pid"), sup.get("start_time")):
            break
        time.sleep(0.1)
    _stop_here(run, grace)


def _stop_here(run: RunDir, grace: float) -> None:
    """Stop the ranks without the supervisor (dead or stuck) and record CANCELLED."""
    state = run.read_state() or {}
    ranks = [(r.get("pid"), r.get("start_time")) for r in state.get("ranks", [])]
    for pid, born in ranks:
        procs.signal_group(pid, signal.SIGTERM, born)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(procs.alive(p, b) for p, b in ranks):
        time.sleep(0.1)
    killed = [procs.signal_group(p, signal.SIGKILL, b) for p, b in ranks]
    sup = state.get("supervisor") or {}
    if procs.is_supervisor(sup.get("pid"), sup.get("start_time"), str(run.path)):
        os.kill(sup["pid"], signal.SIGKILL)

    def finish(current: dict[str, Any]) -> None:
        if current.get("state") not in st.TERMINAL:
            note = " (SIGKILL after the grace period)" if any(killed) else ""
            current.update(
                state=st.CANCELLED,
                message=f"cancelled; the supervisor was not running{note}",
                ended_at=now_iso(),
            )

    with contextlib.suppress(OSError):  # a full disk: status still answers from memory
        run.update_state(finish)


def _grace_period(run: RunDir) -> float:
    """The plan's grace period; the default when plan.json cannot be read (the
    supervisor read it at start, so a damaged plan.json must not block a cancel)."""
    try:
        value = run.request().get("grace_period", 10)
        return float(value) if isinstance(value, int | float) and 0 <= value <= 3600 else 10.0
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return 10.0

"""A run directory on disk: its files, its ``state.json`` and the lock guarding it.

Everything `status`, `logs`, `wait` and `cancel` need is here, so any process
can follow a run with nothing but its path. ``state.json`` is replaced
atomically (write + rename), so readers never see half a file and need no lock;
writers (supervisor, canceller, orphan check) read-modify-write under an
exclusive ``flock`` so their updates never overwrite each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_VERSION = 1


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so readers see the old or the new file, never a torn one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):  # a full disk must not leave debris behind
            tmp.unlink()
        raise


class RunDir:
    """Paths and state of one local run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def plan_file(self) -> Path:
        return self.path / "plan.json"

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.path / ".state.lock"

    @property
    def logs_dir(self) -> Path:
        return self.path / "logs"

    @property
    def job_log(self) -> Path:
        """The combined stream of all ranks plus the supervisor's own lines."""
        return self.logs_dir / "job.log"

    @property
    def supervisor_log(self) -> Path:
        """The supervisor's stderr: a crash traceback lands here."""
        return self.logs_dir / "supervisor.log"

    def rank_log(self, rank: int) -> Path:
        return self.logs_dir / f"rank-{rank}.log"

    def exists(self) -> bool:
        return self.path.is_dir()

    def request(self) -> dict[str, Any]:
        """The plan's request, as submitted."""
        plan = json.loads(self.plan_file.read_text())
        request: dict[str, Any] = plan["request"]
        return request

    def read_state(self) -> dict[str, Any] | None:
        """The current state (wrong-typed fields reset), or None when it cannot be read."""
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return normalized(data, self.name) if isinstance(data, dict) else None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run's exclusive lock (blocking)."""
        with self.lock_file.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def update_state(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Apply ``change`` to the state under the lock and persist it atomically."""
        with self.locked():
            state = self.read_state() or new_state(self.name)
            change(state)
            state["updated_at"] = now_iso()
            write_json_atomic(self.state_file, state)
            return state


_TEXT = (str, type(None))
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "version": (int,),
    "job_name": (str,),
    "state": (str,),
    "host": _TEXT,
    "created_at": _TEXT,
    "updated_at": _TEXT,
    "started_at": _TEXT,
    "ended_at": _TEXT,
    "exit_code": (int, type(None)),
    "message": _TEXT,
    "attempt": (int,),
    "supervisor": (dict, type(None)),
    "ranks": (list,),
    "cancel_requested_at": _TEXT,
    "master_port": (int, type(None)),
}
_RANK_INTS = ("rank", "node", "local_rank", "pid", "start_time", "exit_code")


def _int_or_none(value: Any) -> int | None:
    return value if type(value) is int else None


def normalized(data: dict[str, Any], job_name: str) -> dict[str, Any]:
    """``data`` with every field of the wrong type (a hand edit, a bad disk) reset.

    Reset rather than refused: one bad field must not hide the rest (a terminal
    state, the supervisor's pid), nor break ``status`` and ``list`` for every run.
    """
    state = dict(data)
    fresh = {**new_state(job_name), "created_at": None, "updated_at": None}
    for key, types in _FIELD_TYPES.items():
        value = state.get(key, fresh[key])
        if type(value) not in types or (key == "attempt" and value < 0):
            value = fresh[key]
        state[key] = value
    sup = state["supervisor"]
    if sup is not None:
        state["supervisor"] = {k: _int_or_none(sup.get(k)) for k in ("pid", "start_time")}
    state["ranks"] = [
        {**rank, **{k: _int_or_none(rank.get(k)) for k in _RANK_INTS}}
        for rank in state["ranks"]
        if isinstance(rank, dict)
    ]
    return state


def new_state(job_name: str) -> dict[str, Any]:
    """The state a freshly written run starts in."""
    stamp = now_iso()
    return {
        "version": STATE_VERSION,
        "job_name": job_name,
        "state": "pending",
        "host": socket.gethostname(),
        "created_at": stamp,
        "updated_at": stamp,
        "started_at": None,
        "ended_at": None,
        "exit_code": None,
        "message": None,
        "attempt": 0,
        "supervisor": None,
        "ranks": [],
        "cancel_requested_at": None,
        "master_port": None,
    }

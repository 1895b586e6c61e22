"""Process helpers: liveness that survives PID reuse, group signals, free ports.

A recorded pid is only "ours" while its start time (``/proc/<pid>/stat``, Linux)
still matches what was recorded, so a recycled pid is never signalled. Zombies
count as dead: a child that exited but was not yet reaped must not keep a run
RUNNING.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import sys
from collections.abc import Callable

# Liveness is shared with cloudgd.servers; local runs reach it through this module too.
from cloudgd.procs import alive as alive
from cloudgd.procs import cmdline as cmdline
from cloudgd.procs import start_time as start_time

_PR_SET_PDEATHSIG = 1


def is_supervisor(pid: object, started: object, run_dir: str) -> bool:
    """True when ``pid`` is still the supervisor cloudgd started for ``run_dir``.

    The start time rules out a recycled pid; the command line rules out a record
    that names some other process of the same age.
    """
    if not alive(pid, started):
        return False
    argv = cmdline(pid) if isinstance(pid, int) else []
    if not argv and sys.platform != "linux":
        return True
    return "providers.local.supervisor" in argv and any(
        os.path.realpath(arg) == os.path.realpath(run_dir) for arg in argv[-1:]
    )


def find_supervisor(run_dir: str) -> tuple[int, int | None] | None:
    """(pid, start time) of a live supervisor of ``run_dir``, found by its command line.

    For a run whose ``state.json`` was lost: the process itself says which run it
    supervises (``python -m providers.local.supervisor RUN_DIR``).
    """
    wanted = os.path.realpath(run_dir)
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return None
    for pid in pids:
        argv = cmdline(pid)
        if "providers.local.supervisor" in argv and os.path.realpath(argv[-1]) == wanted:
            born = start_time(pid)
            if alive(pid, born):
                return pid, born
    return None


def signal_group(pgid: object, sig: int, started: object = None) -> bool:
    """Send ``sig`` to a rank's process group if its leader is still ours; True if sent."""
    if not alive(pgid, started) or not isinstance(pgid, int):
        return False
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now on ``host`` (for MASTER_PORT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def parent_death_signal(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when its parent dies.

    That is how ranks stop (and checkpoint, on SIGTERM) if the supervisor is
    killed; elsewhere returns None and orphaned ranks are stopped by the next
    ``status`` call instead.
    """
    if sys.platform != "linux":
        return None
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    parent = os.getpid()

    def _preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return _preexec


def exit_code(returncode: int) -> int:
    """Popen's return code in shell form: a death by signal N becomes 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def describe_exit(code: int) -> str:
    """'exit code 3' or 'killed by SIGKILL' for a shell-form exit code."""
    if code > 128:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(code - 128).name}"
    return f"exit code {code}"

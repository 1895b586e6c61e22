"""Process liveness that survives PID reuse: is a recorded pid still the process we started?

A recorded pid is only "ours" while its start time (``/proc/<pid>/stat``, Linux)
still matches what was recorded, so a recycled pid is never signalled. Zombies
count as dead: a child that exited but was not yet reaped must not look alive.
Used by local runs and by the rehearsal servers cloudgd starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    return text[text.rfind(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """Kernel start time of ``pid`` in clock ticks (Linux), else None."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def cmdline(pid: int) -> list[str]:
    """The argument vector of ``pid`` (Linux), empty when unknown."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: object, started: object = None) -> bool:
    """True while ``pid`` runs, is not a zombie, and (if known) has the recorded start time.

    Values come from ``state.json``; anything that is not a plain positive int
    (a hand-edited or corrupted file) is no process of ours. On Linux a record
    without its start time cannot be told from a recycled pid and reads as dead.
    """
    if type(pid) is not int or pid <= 0 or pid > 2**22:
        return False
    if started is not None and type(started) is not int:
        return False
    if started is None and sys.platform == "linux":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _stat_fields(pid)
    if fields is None:
        return sys.platform != "linux"  # no /proc elsewhere: existence is all we know
    if fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started

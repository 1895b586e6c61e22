"""Files that hold a plan (``plan --out``, a run's ``plan.json``): owner-only, clear errors.

A plan names buckets, roles and accounts, and a local run's plan still carries
whatever a user put in ``env`` that does not look like a credential; other users
of the machine have no business reading it. The file is created 0600 from the
start (no window with wider permissions), and a path that cannot be written
(a missing directory, a full disk) is one line naming it, not a traceback.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cloudgd.errors import UsageError

PRIVATE_MODE = 0o600


def write_private(path: str | Path, text: str, *, what: str = "--out") -> None:
    """Write ``text`` to ``path`` as a file only its owner can read."""
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    except OSError as exc:
        raise UsageError(
            f"{what}: cannot write {target}: {exc.strerror or exc}",
            hint="give a path in an existing directory you can write to",
        ) from None
    try:
        os.fchmod(fd, PRIVATE_MODE)  # the file may have existed with wider permissions
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1
            handle.write(text)
    except OSError as exc:
        with contextlib.suppress(OSError):
            target.unlink()
        raise UsageError(f"{what}: cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            os.close(fd)

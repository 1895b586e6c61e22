"""Files the user names on the command line (``--out FILE``): written whole, or one clear line.

A regular file (new or existing) is written beside itself and renamed into place, so a
full disk or a kill never leaves half a plan behind; the new file is private to the user
(0600), as a plan may name accounts and buckets. An existing special file the user points
at (``/dev/stdout``, a FIFO someone reads) is written into, never replaced.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from cloudgd.errors import UsageError


def _refused(flag: str, shown: str, error: OSError) -> UsageError:
    reason = error.strerror or str(error)
    return UsageError(f"{flag} {shown}: cannot write: {reason}", hint="choose a writable path")


def _write_in_place(target: Path, data: bytes, flag: str, shown: str, *, truncate: bool) -> None:
    # Non-blocking open: a FIFO nobody reads gives ENXIO instead of a hang.
    flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags | (os.O_TRUNC if truncate else 0))
    except OSError as error:
        raise _refused(flag, shown, error) from None
    try:
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as error:
        raise _refused(flag, shown, error) from None
    finally:
        os.close(fd)


def write_user_file(
    path: str | Path, text: str, *, flag: str = "--out", make_parents: bool = False
) -> Path:
    """Write ``text`` to ``path``; UsageError (exit 2) naming ``flag`` and the path on failure.

    ``make_parents`` creates missing directories first (where a command documents that).
    """
    shown = str(path)
    target = Path(os.path.realpath(path))  # a symlink's target is written, not the link
    data = text.encode("utf-8")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise _refused(flag, shown, error) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"{flag} {shown}: is a directory", hint="give a file name, e.g. plan.json")
    if mode is not None and not stat.S_ISREG(mode):
        _write_in_place(target, data, flag, shown, truncate=False)
        return target
    if make_parents and mode is None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _refused(flag, shown, error) from None
    if not target.parent.is_dir():
        raise UsageError(
            f"{flag} {shown}: directory {target.parent} does not exist",
            hint="create it first, or write somewhere else",
        )
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as error:
        if mode is None:
            raise _refused(flag, shown, error) from None
        # An existing file in a directory we may not add to: overwrite it where it is.
        _write_in_place(target, data, flag, shown, truncate=True)
        return target
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(temp, target)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise _refused(flag, shown, error) from None
    return target

"""Log files of a local run: merging rank logs into one stream, tailing, following.

Ranks write straight to ``logs/rank-<i>.log`` (no pipe through the supervisor,
so a dying supervisor can never block or kill a rank on a full pipe). The
supervisor copies complete new lines into ``logs/job.log``, prefixed with the
rank when there is more than one, so `cloudgd logs` reads a single stream.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

_CHUNK = 1 << 16


class LogPump:
    """Copies new complete lines from each rank log into the combined log."""

    def __init__(self, combined: Path, sources: dict[int, Path], prefix: bool) -> None:
        self.combined = combined
        self.sources = sources
        self.prefix = prefix
        self._offsets = {rank: 0 for rank in sources}
        self._partial = {rank: b"" for rank in sources}
        self.lost_writes = 0

    def _append(self, data: bytes) -> None:
        # A full disk or a deleted run dir loses lines from job.log (each rank's own log
        # keeps them), never the supervision: the ranks are still watched and stopped.
        try:
            with self.combined.open("ab") as out:
                out.write(data)
        except OSError:
            self.lost_writes += 1

    def note(self, text: str) -> None:
        """Append a line of the supervisor's own (``[cloudgd] ...``)."""
        self._append(f"[cloudgd] {text}\n".encode())

    def pump(self, final: bool = False) -> None:
        """Copy what the ranks wrote since the last call; ``final`` flushes half lines."""
        chunks: list[bytes] = []
        for rank, path in self.sources.items():
            try:
                with path.open("rb") as handle:
                    handle.seek(self._offsets[rank])
                    data = handle.read()
            except OSError:
                continue
            self._offsets[rank] += len(data)
            data = self._partial[rank] + data
            lines = data.split(b"\n")
            self._partial[rank] = lines.pop()
            if final and self._partial[rank]:
                lines.append(self._partial[rank])
                self._partial[rank] = b""
            tag = f"[rank {rank}] ".encode() if self.prefix else b""
            chunks.extend(tag + line + b"\n" for line in lines)
        if chunks:
            self._append(b"".join(chunks))


def tail_lines(path: Path, count: int = 20, max_bytes: int = _CHUNK) -> list[str]:
    """The last ``count`` non-empty lines of a file (reads at most ``max_bytes``)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    lines = [line for line in data.decode(errors="replace").splitlines() if line.strip()]
    return list(deque(lines, maxlen=count))


def read_lines(
    path: Path, *, follow: bool = False, done: Callable[[], bool] | None = None, poll: float = 0.2
) -> Iterator[str]:
    """Yield the file's lines (without newlines); with ``follow``, keep going until
    ``done()`` is true, then yield what was written meanwhile and stop."""
    offset, partial = 0, b""
    while True:
        finished = bool(follow and done is not None and done())
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            data = b""
        offset += len(data)
        parts = (partial + data).split(b"\n")
        partial = parts.pop()
        for line in parts:
            yield line.decode(errors="replace")
        if not follow or finished:
            if partial:
                yield partial.decode(errors="replace")
            return
        time.sleep(poll)

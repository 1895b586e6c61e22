"""An Azure ML job's log files from run history; with ``follow``, until the job ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from cloudgd.errors import JobNotFoundError
from cloudgd.plan import JobHandle
from providers.azure.states import job_state


def follow_logs(
    client: Any, handle: JobHandle, *, follow: bool, poll_seconds: float
) -> Iterator[str]:
    """Every log file's new lines, files in name order; with ``follow``, polling every
    ``poll_seconds`` until the job ends. A partial last line is held back until it is
    complete (or the job ended)."""
    if client.get_job(handle.job) is None:
        raise JobNotFoundError(f"Azure ML has no job {handle.job}")
    offsets: dict[str, int] = {}
    while True:
        run = client.run(handle.job)
        files: dict[str, str] = run.log_files if run else {}
        if run is not None and run.status:
            raw = run.status
        else:  # no run history yet: the job itself says whether it ended
            current = client.get_job(handle.job)
            raw = current.status if current else None
        ended = job_state(raw).terminal
        for name in sorted(files):
            text = client.read_text(files[name])
            seen = offsets.get(name, 0)
            if len(text) > seen:
                complete = text if ended else text[: text.rfind("\n") + 1]
                yield from complete[seen:].splitlines()
                offsets[name] = max(seen, len(complete))
        if not follow or ended:
            return
        time.sleep(poll_seconds)

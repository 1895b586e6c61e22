"""A Vertex AI job's Cloud Logging lines, oldest first; with ``follow``, until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from providers.gcp.states import job_state, state_name


def stream_logs(
    api: Any,
    job: dict[str, Any],
    *,
    refresh: Callable[[str], dict[str, Any]],
    follow: bool,
    poll_seconds: float,
) -> Iterator[str]:
    """The job's lines, oldest first; with ``follow``, polling every ``poll_seconds`` until
    it ends.

    Custom and tuning jobs both log as ``resource.type="ml_job"`` under their own
    ID; a tuning trial's lines carry its trial ID and are prefixed ``[trial N]``.
    ``refresh`` re-reads the job (by resource name) between polls.
    """
    _, project, _, _, _, job_id = job["name"].split("/")
    base = f'resource.type="ml_job" AND resource.labels.job_id="{job_id}"'
    since = job.get("createTime") or "1970-01-01T00:00:00Z"
    seen_at_since: set[str] = set()
    while True:
        finished = job_state(state_name(job.get("state"))).terminal
        for line in api.log_lines(project, f'{base} AND timestamp>="{since}"'):
            if line.timestamp == since and line.insert_id in seen_at_since:
                continue
            if line.timestamp != since:
                since, seen_at_since = line.timestamp, set()
            seen_at_since.add(line.insert_id)
            trial = f"[trial {line.trial}] " if line.trial else ""
            task = "" if line.task in (None, "service") else f"[{line.task}] "
            yield f"{trial}{task}{line.text}"
        if not follow or finished:
            return
        time.sleep(poll_seconds)
        job = refresh(job["name"])

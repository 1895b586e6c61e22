"""State of the fake Vertex AI service: custom jobs on a timeline, and their log entries.

A job's state is computed from the clock when it is read (QUEUED → PENDING →
RUNNING → SUCCEEDED; a cancel goes CANCELLING → CANCELLED), so the fake needs no
background threads. It runs nothing: with ``--run-local`` the job's real run is
the local one. Everything is bounded: jobs and log entries per job have caps.
Stdlib only; no cloud SDK.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from providers.gcp.rehearsal.fake_query import (
    FakeError,
    list_page,
    lookup,
    matches,
    parse_time,
    rfc3339,
    terms,
)

MAX_JOBS = 1000
MAX_ENTRIES_PER_JOB = 10_000
_PROJECT_LOCATION = re.compile(r"^projects/[^/]+/locations/[^/]+$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_DURATION = re.compile(r"^\d+(\.\d+)?s$")
_ENDED = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")


@dataclass(frozen=True)
class Phases:
    """Seconds a job spends in each phase (the fake's notion of "realistic")."""

    queued: float = 2.0
    pending: float = 3.0
    running: float = 10.0
    cancelling: float = 1.0


@dataclass
class _Job:
    name: str
    body: dict[str, Any]
    created: float
    cancel_at: float | None = None
    fail_at: float | None = None
    fail_message: str = ""
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def job_id(self) -> str:
        return self.name.rsplit("/", 1)[1]

    def timeout(self) -> float | None:
        raw = self.body.get("jobSpec", {}).get("scheduling", {}).get("timeout")
        return float(raw[:-1]) if raw else None


def validate_job(body: dict[str, Any]) -> None:
    """The service-side checks that catch a malformed CreateCustomJob body."""

    def bad(message: str) -> FakeError:
        return FakeError(400, "INVALID_ARGUMENT", message)

    if not body.get("displayName"):
        raise bad("CustomJob.display_name is required")
    pools = body.get("jobSpec", {}).get("workerPoolSpecs") or []
    if not pools or not pools[0]:
        raise bad("CustomJob.job_spec.worker_pool_specs[0] is required")
    if str(pools[0].get("replicaCount", "1")) != "1":
        raise bad("worker_pool_specs[0].replica_count must be 1 (the primary replica)")
    for index, pool in enumerate(pools):
        if not pool:
            continue
        if not pool.get("machineSpec", {}).get("machineType"):
            raise bad(f"worker_pool_specs[{index}].machine_spec.machine_type is required")
        if ("containerSpec" in pool) == ("pythonPackageSpec" in pool):
            raise bad(
                f"worker_pool_specs[{index}] needs one of container_spec, python_package_spec"
            )
    labels = body.get("labels", {})
    if len(labels) > 64:
        raise bad("a resource can have at most 64 labels")
    for key, value in labels.items():
        if not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(str(value)):
            raise bad(f"invalid label {key}={value!r}")
    timeout = body.get("jobSpec", {}).get("scheduling", {}).get("timeout")
    if timeout is not None and not _DURATION.match(str(timeout)):
        raise bad(f"invalid scheduling.timeout {timeout!r}")


class JobTable:
    """Create, get, list and cancel of a bounded kind of job named
    ``<parent>/<collection>/<id>``, under one lock: what the custom job and tuning job
    stores share, and the view of a job on its timeline. A subclass checks bodies and
    adds to the view (a tuning job its trials)."""

    kind: ClassVar[str]  # the resource, as errors name it ("CustomJob")
    collection: ClassVar[str]  # its part of a job's name, and its key in a List answer
    full: ClassVar[str]  # the error once it holds ``_limit()`` jobs, {} for the number

    def __init__(self, clock: Callable[[], float], first_id: int) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        # Numeric IDs like Vertex's; seeded from the clock so a restarted fake never
        # reuses the ID of a job an old handle still names.
        self._ids = itertools.count(first_id)

    def _limit(self) -> int:
        """How many jobs the fake holds (read when a job is created)."""
        raise NotImplementedError

    def _validate(self, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def _timeline(self, job: _Job) -> dict[str, Any]:
        raise NotImplementedError

    def _view(self, job: _Job) -> dict[str, Any]:
        """The job as the API answers it: its body, name, state, times and error."""
        line = self._timeline(job)
        view = {**job.body, "name": job.name, "state": line["state"]}
        view["createTime"] = rfc3339(job.created)
        view["updateTime"] = rfc3339(max(t for t in (job.created, line["start"], line["end"]) if t))
        if line["start"] is not None:
            view["startTime"] = rfc3339(line["start"])
        if line["end"] is not None:
            view["endTime"] = rfc3339(line["end"])
        if line["error"]:
            view["error"] = line["error"]
        view.update(self._more_view(job, line))
        return view

    def _more_view(self, job: _Job, line: dict[str, Any]) -> dict[str, Any]:
        """What a kind of job adds to its view, from the same ``_timeline`` reading."""
        return {}

    def create(self, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        if not _PROJECT_LOCATION.match(parent):
            raise FakeError(400, "INVALID_ARGUMENT", f"invalid parent {parent!r}")
        self._validate(body)
        with self._lock:
            if len(self._jobs) >= (limit := self._limit()):
                raise FakeError(429, "RESOURCE_EXHAUSTED", self.full.format(limit))
            name = f"{parent}/{self.collection}/{next(self._ids)}"
            job = _Job(name=name, body=dict(body), created=self.clock())
            self._jobs[name] = job
            return self._view(job)

    def _job(self, name: str) -> _Job:
        job = self._jobs.get(name)
        if job is None:
            raise FakeError(404, "NOT_FOUND", f"{self.kind} {name} not found")
        return job

    def get(self, name: str) -> dict[str, Any]:
        with self._lock:
            return self._view(self._job(name))

    def list_jobs(
        self, parent: str, filter_text: str = "", page_size: int = 100, page_token: str = ""
    ) -> dict[str, Any]:
        with self._lock:
            views = [self._view(j) for j in self._jobs.values() if j.name.startswith(parent + "/")]
        return list_page(views, self.collection, filter_text, page_size, page_token)

    def cancel(self, name: str) -> None:
        with self._lock:
            job = self._job(name)
            state = self._timeline(job)["state"]
            if state in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"):
                return
            if state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"):
                raise FakeError(
                    400, "FAILED_PRECONDITION", f"Cannot cancel {name}: it is in state {state}"
                )
            job.cancel_at = self.clock()


class JobStore(JobTable):
    """Thread-safe, bounded store of custom jobs; state follows ``clock``."""

    kind = "CustomJob"
    collection = "customJobs"
    full = "the fake holds at most {}"

    def __init__(self, phases: Phases | None = None, clock: Callable[[], float] = time.time):
        super().__init__(clock, first_id=int(clock() * 1000) * 1000 + 1)
        self.phases = phases or Phases()
        self._insert_ids = itertools.count(1)
        # Other resources that log as ``ml_job`` (tuning jobs): each returns its entries.
        self.log_sources: list[Callable[[], list[dict[str, Any]]]] = []

    # -- jobs ----------------------------------------------------------------
    def _limit(self) -> int:
        return MAX_JOBS

    def _validate(self, body: dict[str, Any]) -> None:
        validate_job(body)

    def list_jobs(
        self, parent: str, filter_text: str = "", page_size: int = 100, page_token: str = ""
    ) -> dict[str, Any]:
        terms(filter_text)  # a bad filter is an error even when no job would be checked
        return super().list_jobs(parent, filter_text, page_size, page_token)

    def fail(self, name: str, message: str) -> dict[str, Any]:
        """Admin: make a job fail now (what a crashing trainer looks like)."""
        with self._lock:
            job = self._job(name)
            if self._timeline(job)["state"] not in _ENDED:
                job.fail_at, job.fail_message = self.clock(), message
            return self._view(job)

    # -- timeline --------------------------------------------------------------
    def _timeline(self, job: _Job) -> dict[str, Any]:
        """State, times and error of ``job`` at the current clock."""
        now, p = self.clock(), self.phases
        start = job.created + p.queued + p.pending
        # (state, when it is reached, error, when the job stopped making progress)
        end = start + p.running
        ending: tuple[str, float, dict[str, Any] | None, float] = (
            "JOB_STATE_SUCCEEDED", end, None, end
        )  # fmt: skip
        timeout = job.timeout()
        if timeout is not None and timeout < p.running:
            message = f"Job exceeded its scheduling.timeout of {timeout:g}s"
            when = start + timeout
            ending = ("JOB_STATE_FAILED", when, {"code": 4, "message": message}, when)
        if job.fail_at is not None and job.fail_at < ending[1]:
            error: dict[str, Any] | None = {"code": 13, "message": job.fail_message}
            ending = ("JOB_STATE_FAILED", job.fail_at, error, job.fail_at)
        if job.cancel_at is not None and job.cancel_at < ending[1]:
            done = job.cancel_at + p.cancelling
            ending = (
                "JOB_STATE_CANCELLED",
                done,
                {"code": 1, "message": "CANCELED"},
                job.cancel_at,
            )
        state, reached, error, stopped = ending
        started = start if start <= min(now, stopped) else None
        if now >= reached:
            return {"state": state, "start": started, "end": reached, "error": error}
        if state == "JOB_STATE_CANCELLED" and now >= stopped:
            return {"state": "JOB_STATE_CANCELLING", "start": started, "end": None, "error": None}
        if started is not None:
            return {"state": "JOB_STATE_RUNNING", "start": started, "end": None, "error": None}
        queued = now < job.created + p.queued
        state = "JOB_STATE_QUEUED" if queued else "JOB_STATE_PENDING"
        return {"state": state, "start": None, "end": None, "error": None}

    # -- logs ------------------------------------------------------------------
    def _service_entries(self, job: _Job) -> list[dict[str, Any]]:
        line = self._timeline(job)
        events = [(job.created, "INFO", "Waiting for job to be provisioned.")]
        if line["start"] is not None:
            events.append((line["start"], "INFO", "Job is running."))
        if line["end"] is not None:
            text = {
                "JOB_STATE_SUCCEEDED": "Job completed successfully.",
                "JOB_STATE_CANCELLED": "Job was cancelled.",
            }.get(line["state"], f"Job failed: {(line['error'] or {}).get('message', '')}")
            severity = "ERROR" if line["state"] == "JOB_STATE_FAILED" else "INFO"
            events.append((line["end"], severity, text))
        return [
            self._entry(job, when, severity, text, f"service-{i}")
            for i, (when, severity, text) in enumerate(events)
        ]

    @staticmethod
    def _entry(
        job: _Job,
        when: float,
        severity: str,
        text: str,
        insert_id: str,
        labels: dict[str, str] | None = None,
    ) -> dict:
        project = job.name.split("/")[1]
        return {
            "logName": f"projects/{project}/logs/ml.googleapis.com%2F{job.job_id}",
            "resource": {
                "type": "ml_job",
                "labels": {"job_id": job.job_id, "project_id": project, "task_name": "service"},
            },
            **({"labels": labels} if labels else {}),
            "timestamp": rfc3339(when),
            "receiveTimestamp": rfc3339(when),
            "severity": severity,
            "insertId": insert_id,
            "textPayload": text,
        }

    def write_entries(self, entries: list[dict[str, Any]]) -> None:
        """entries:write — keep entries whose resource names a known job."""
        with self._lock:
            by_id = {j.job_id: j for j in self._jobs.values()}
            for entry in entries:
                job = by_id.get(str(lookup(entry, "resource.labels.job_id")))
                if job is None:
                    continue
                stored = {
                    **entry,
                    "insertId": entry.get("insertId") or f"w{next(self._insert_ids)}",
                }
                stored.setdefault("timestamp", rfc3339(self.clock()))
                stored.setdefault("receiveTimestamp", stored["timestamp"])
                job.entries.append(stored)
                del job.entries[:-MAX_ENTRIES_PER_JOB]

    def list_entries(
        self, filter_text: str, order_by: str = "", page_size: int = 1000, page_token: str = ""
    ) -> dict[str, Any]:
        """entries:list over all jobs' service messages and written entries."""
        terms(filter_text)
        with self._lock:
            entries = [
                e for j in self._jobs.values() for e in (*self._service_entries(j), *j.entries)
            ]
        for source in self.log_sources:
            entries += source()
        entries = [e for e in entries if matches(e, filter_text, {})]
        entries.sort(
            key=lambda e: (parse_time(e["timestamp"]), e["insertId"]),
            reverse=order_by.strip().lower().endswith("desc"),
        )
        start = int(page_token or 0)
        size = max(1, min(page_size or 1000, 1000))
        page: dict[str, Any] = {"entries": entries[start : start + size]}
        if start + size < len(entries):
            page["nextPageToken"] = str(start + size)
        return page

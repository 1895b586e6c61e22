"""State of the fake Azure ML workspace(s): jobs, computes, assets and blobs.

No HTTP here (that is :mod:`providers.azure.rehearsal.fake`); this module holds what a
workspace remembers and how a job moves through Azure ML's states over time:
NotStarted → Queued → Preparing → Running → Finalizing → Completed (or Failed),
and after a cancel CancelRequested → Canceled. The clock is injectable so the
transitions are testable without sleeping. Everything is bounded: a fixed
number of jobs and assets per store and a byte budget for blobs.

A sweep job runs its trials as child jobs named ``<sweep>_<n>``, as Azure ML
does: ``parallel`` at a time in waves while the sweep is Running, each trial
moving through the same states. A child appears once its wave is scheduled.
The fake trains nothing, so the sweep's ``score`` and best trial are seeded
from its name: test data, not a result.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PHASES = ("NotStarted", "Queued", "Preparing", "Running", "Finalizing")
TERMINAL = ("Completed", "Failed", "Canceled")
# A job tag only the fake reads: lets tests and demos rehearse a failing job.
OUTCOME_TAG = "cloudgd-fake:outcome"
MAX_JOBS = 2000
MAX_ASSETS = 2000
MAX_BLOB_BYTES = 256 * 1024 * 1024
MAX_FAULTS = 100
MAX_TRIALS = 100  # children one sweep may spawn in the fake


class StoreFull(Exception):
    """A bound of the fake was reached (jobs, assets or blob bytes)."""


@dataclass
class FakeJob:
    """One job: its stored ARM body and the times it moved."""

    name: str
    body: dict[str, Any]
    created: float
    created_wall: datetime
    outcome: str = "Completed"
    cancel_at: float | None = None
    parent: str | None = None
    run_steps: float | None = None  # a sweep runs as long as its waves of trials


@dataclass
class Blob:
    data: bytes
    metadata: dict[str, str] = field(default_factory=dict)
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))


class FakeStore:
    """Thread-safe state for every workspace the fake serves."""

    def __init__(
        self,
        *,
        step_seconds: float = 1.0,
        run_steps: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.step = step_seconds
        self.run_steps = run_steps
        self.clock = clock
        self.lock = threading.Lock()
        self.jobs: dict[tuple[str, str], FakeJob] = {}
        self.computes: dict[tuple[str, str], dict[str, Any]] = {}
        self.assets: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.blobs: dict[tuple[str, str], Blob] = {}
        self._blob_bytes = 0
        self._faults: list[list[Any]] = []

    # -- injected failures (tests of retries) ------------------------------------
    def inject_fault(self, fragment: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests whose path contains ``fragment`` with ``status``."""
        with self.lock:
            if len(self._faults) >= MAX_FAULTS:
                raise StoreFull(f"the fake keeps at most {MAX_FAULTS} injected faults")
            self._faults.append([fragment, status, times])

    def take_fault(self, path: str) -> int | None:
        """The status to fail ``path`` with, if a fault is pending for it."""
        with self.lock:
            for fault in self._faults:
                if fault[0] in path and fault[2] > 0:
                    fault[2] -= 1
                    status: int = fault[1]
                    self._faults = [f for f in self._faults if f[2] > 0]
                    return status
        return None

    # -- jobs ----------------------------------------------------------------
    def _durations(self, job: FakeJob | None = None) -> list[float]:
        running = self.run_steps if job is None or job.run_steps is None else job.run_steps
        steps = [1, 1, 1, running, 1]
        return [s * self.step for s in steps]

    def job_state(self, job: FakeJob) -> tuple[str, float | None, float | None]:
        """(status, started, ended) in clock seconds, from the elapsed time alone."""
        now = self.clock()
        if job.cancel_at is not None:
            if now < job.cancel_at + self.step:
                return "CancelRequested", None, None
            return "Canceled", None, job.cancel_at + self.step
        elapsed = now - job.created
        edge = 0.0
        started = None
        durations = self._durations(job)
        for phase, length in zip(PHASES, durations, strict=True):
            if phase == "Running":
                started = job.created + edge
            if elapsed < edge + length:
                return phase, started if phase in ("Running", "Finalizing") else None, None
            edge += length
        return job.outcome, job.created + sum(durations[:3]), job.created + edge

    def add_job(self, ws: str, name: str, body: dict[str, Any]) -> FakeJob:
        with self.lock:
            if len(self.jobs) >= MAX_JOBS:
                raise StoreFull(f"the fake keeps at most {MAX_JOBS} jobs")
            tags = body.get("properties", {}).get("tags") or {}
            outcome = "Failed" if tags.get(OUTCOME_TAG) == "Failed" else "Completed"
            job = FakeJob(name, body, self.clock(), datetime.now(UTC), outcome)
            if body.get("properties", {}).get("jobType") == "Sweep":
                self._spawn_trials(ws, job)
            self.jobs[(ws, name)] = job
            return job

    def _spawn_trials(self, ws: str, sweep: FakeJob) -> None:
        """The sweep's trials as child jobs, scheduled in waves while the sweep runs."""
        limits = sweep.body.get("properties", {}).get("limits") or {}
        total = max(1, min(int(limits.get("maxTotalTrials") or 1), MAX_TRIALS))
        parallel = max(1, min(int(limits.get("maxConcurrentTrials") or total), total))
        if len(self.jobs) + total >= MAX_JOBS:
            raise StoreFull(f"the fake keeps at most {MAX_JOBS} jobs")
        trial_seconds = sum(self._durations())
        waves = math.ceil(total / parallel)
        sweep.run_steps = waves * trial_seconds / self.step
        first = sweep.created + sum(self._durations(sweep)[:3])
        props = sweep.body["properties"]
        for number in range(total):
            offset = first - sweep.created + (number // parallel) * trial_seconds
            trial_props = {
                "jobType": "Command",
                "computeId": props.get("computeId"),
                "experimentName": props.get("experimentName"),
                "command": (props.get("trial") or {}).get("command"),
            }
            child = FakeJob(
                f"{sweep.name}_{number}",
                {"properties": trial_props},
                sweep.created + offset,
                datetime.fromtimestamp(sweep.created_wall.timestamp() + offset, UTC),
                parent=sweep.name,
            )
            self.jobs[(ws, child.name)] = child

    def get_job(self, ws: str, name: str) -> FakeJob | None:
        with self.lock:
            return self.jobs.get((ws, name))

    def list_jobs(self, ws: str) -> list[FakeJob]:
        """The workspace's top-level jobs (trials are listed under their sweep)."""
        with self.lock:
            found = [
                job for (space, _), job in self.jobs.items() if space == ws and job.parent is None
            ]
        return sorted(found, key=lambda j: j.created, reverse=True)

    def children(self, ws: str, parent: str) -> list[FakeJob]:
        """The trials of sweep ``parent`` scheduled so far, in trial order."""
        now = self.clock()
        with self.lock:
            found = [
                job
                for (space, _), job in self.jobs.items()
                if space == ws and job.parent == parent and job.created <= now
            ]
        return sorted(found, key=lambda j: int(j.name.rsplit("_", 1)[1]))

    def cancel_job(self, ws: str, name: str) -> FakeJob | None:
        """Cancel a job; cancelling a sweep cancels its trials that have not ended."""
        with self.lock:
            job = self.jobs.get((ws, name))
            if job is None:
                return None
            now = self.clock()
            for key, child in list(self.jobs.items()):
                if key[0] == ws and child.parent == name and child.created > now:
                    del self.jobs[key]  # a trial not yet scheduled never runs
            family = [job, *(j for (s, _), j in self.jobs.items() if s == ws and j.parent == name)]
            for member in family:
                state, _, _ = self.job_state(member)
                if state not in TERMINAL and member.cancel_at is None:
                    member.cancel_at = now
            return job

    def sweep_result(self, job: FakeJob) -> dict[str, str]:
        """A completed sweep's properties as Azure ML sets them (seeded, see the module doc)."""
        props = job.body.get("properties", {})
        limits = props.get("limits") or {}
        total = max(1, min(int(limits.get("maxTotalTrials") or 1), MAX_TRIALS))
        seeded = random.Random(job.name)
        objective = props.get("objective") or {}
        return {
            "primary_metric_config": json.dumps(
                {"name": objective.get("primaryMetric"), "goal": objective.get("goal")}
            ),
            "best_child_run_id": f"{job.name}_{seeded.randrange(total)}",
            "score": repr(round(seeded.uniform(0.05, 0.95), 6)),
            "best_metric_status": "Succeeded",
        }

    def wall(self, job: FakeJob, at: float | None) -> datetime | None:
        """A clock reading of ``job`` as wall time."""
        if at is None:
            return None
        return datetime.fromtimestamp(job.created_wall.timestamp() + (at - job.created), UTC)

    def job_log(self, job: FakeJob) -> str:
        """The job's std_log.txt so far: what the fake can truthfully say it did."""
        state, started, ended = self.job_state(job)
        props = job.body.get("properties", {})
        order = [*PHASES, *TERMINAL]
        reached = order.index(state) if state in order else len(PHASES)
        lines = [f"[azureml-fake] job {job.name} accepted on compute {props.get('computeId')}"]
        if job.cancel_at is None and reached >= PHASES.index("Preparing"):
            lines.append(f"[azureml-fake] preparing environment {props.get('environmentId')}")
        if started is not None or (job.cancel_at is None and reached >= PHASES.index("Running")):
            resources = props.get("resources") or {}
            dist = props.get("distribution") or {}
            lines.append(
                f"[azureml-fake] running on {resources.get('instanceCount', 1)} node(s), "
                f"{dist.get('processCountPerInstance', 1)} process(es) each: {props.get('command')}"
            )
            lines.append(
                "[azureml-fake] the fake backend runs no training; rehearse it with --run-local"
            )
        if state == "CancelRequested":
            lines.append("[azureml-fake] cancel requested")
        if ended is not None:
            lines.append(f"[azureml-fake] job {state}")
        return "\n".join(lines) + "\n"

    # -- computes and versioned assets ------------------------------------------
    def put_compute(self, ws: str, name: str, body: dict[str, Any]) -> None:
        with self.lock:
            if (ws, name) not in self.computes and len(self.computes) >= MAX_ASSETS:
                raise StoreFull(f"the fake keeps at most {MAX_ASSETS} computes")
            self.computes[(ws, name)] = body

    def get_compute(self, ws: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            return self.computes.get((ws, name))

    def put_asset(self, ws: str, kind: str, name: str, version: str, body: dict[str, Any]) -> None:
        with self.lock:
            key = (ws, kind, name, version)
            if key not in self.assets and len(self.assets) >= MAX_ASSETS:
                raise StoreFull(f"the fake keeps at most {MAX_ASSETS} assets")
            self.assets[key] = body

    def get_asset(self, ws: str, kind: str, name: str, version: str) -> dict[str, Any] | None:
        with self.lock:
            return self.assets.get((ws, kind, name, version))

    def list_assets(self, ws: str, kind: str, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                body for (s, k, n, _), body in self.assets.items() if (s, k, n) == (ws, kind, name)
            ]

    # -- blobs (path-style, like the Azurite emulator) ----------------------------
    def put_blob(self, container: str, name: str, data: bytes, metadata: dict[str, str]) -> None:
        with self.lock:
            old = self.blobs.get((container, name))
            growth = len(data) - (len(old.data) if old else 0)
            if self._blob_bytes + growth > MAX_BLOB_BYTES:
                raise StoreFull(f"the fake stores at most {MAX_BLOB_BYTES} blob bytes")
            self._blob_bytes += growth
            self.blobs[(container, name)] = Blob(data, dict(metadata))

    def get_blob(self, container: str, name: str) -> Blob | None:
        with self.lock:
            return self.blobs.get((container, name))

    def list_blobs(self, container: str, prefix: str) -> list[tuple[str, Blob]]:
        with self.lock:
            return sorted(
                (n, b)
                for (c, n), b in self.blobs.items()
                if c == container and n.startswith(prefix)
            )

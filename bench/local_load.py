"""The local provider under load: many short jobs submitted at once, tracked to the end.

``--jobs`` jobs (default 50) are submitted concurrently from a thread pool; while
they run, other threads call ``status`` on random jobs and ``list``, and every
``--cancel-every``-th job is cancelled at a random moment. Each job is the real
trainer on a small slice of digits (``--kind trainer``) or a tiny script
(``--kind script``: the supervisor, state files and signals without torch).

Checked, and reported as "lost or misreported" (target 0):
- a submit that raises, or returns a handle other than the plan's;
- a job ``list`` does not show, or whose run directory is missing;
- a status that goes back from a terminal state, or changes its terminal state;
- a final state other than expected: SUCCEEDED (with summary.json for trainer jobs)
  when not cancelled; CANCELLED when cancelled while running, or SUCCEEDED when the
  cancel call itself reported the job had already finished;
- a job not terminal within ``--timeout`` seconds.

    python bench/local_load.py --jobs 50
    python bench/local_load.py --jobs 50 --kind script

The same driver (:func:`run_load`) runs with 8 scripted jobs in the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.local.provider import LocalProvider

SCRIPT = "import time, sys; print('step 1', flush=True); time.sleep({seconds}); print('done')\n"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def job_spec(index: int) -> JobSpec:
    """A short trainer job: one epoch over 300 digits rows."""
    return JobSpec.model_validate(
        {
            "name": f"load-{index:03d}",
            "trainer": {
                "model": {"kind": "mlp", "hidden": [32]},
                "data": {"source": "digits", "limit": 300},
                "epochs": 1,
                "batch_size": 64,
                "num_threads": 1,
            },
            "limits": {"max_runtime": "10m"},
        }
    )


def scripted(plan: Plan, script: Path) -> Plan:
    """``plan`` with each rank's program replaced by ``script`` (a Plan is data)."""
    request = dict(plan.request)
    request["ranks"] = [
        {**rank, "argv": [sys.executable, str(script)]} for rank in request["ranks"]
    ]
    return plan.model_copy(update={"request": request})


@dataclass
class Tracked:
    """What the driver saw of one job."""

    plan: Plan
    cancel: bool
    handle: str | None = None
    submit_error: str | None = None
    cancel_reported: JobState | None = None
    seen: list[tuple[int, JobState]] = field(default_factory=list)  # (thread, state)
    final: JobStatus | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, status: JobStatus) -> None:
        with self.lock:
            self.seen.append((threading.get_ident(), status.state))


@dataclass
class LoadReport:
    """The outcome of one load run."""

    jobs: int
    cancelled: int
    wall_seconds: float
    status_calls: int
    problems: list[str]
    finals: dict[str, int]

    def lines(self) -> list[str]:
        finals = ", ".join(f"{k}={v}" for k, v in sorted(self.finals.items()))
        return [
            f"jobs={self.jobs} cancel requests={self.cancelled} status/list calls="
            f"{self.status_calls} wall={self.wall_seconds:.1f} s",
            f"final states: {finals}",
            f"lost or misreported: {len(self.problems)}",
            *(f"  - {p}" for p in self.problems[:20]),
        ]


def _problems(job: Tracked, require_summary: bool) -> list[str]:
    name = job.plan.job_name
    if job.submit_error:
        return [f"{name}: submit failed: {job.submit_error}"]
    if job.handle != job.plan.handle:
        return [f"{name}: submit returned handle {job.handle}, plan says {job.plan.handle}"]
    if job.final is None or not job.final.state.terminal:
        return [f"{name}: not terminal at the end ({job.final and job.final.state})"]
    found: list[str] = []
    # Each thread's calls are sequential, so each thread's view must never leave a
    # terminal state (threads interleave, so only per-thread order is meaningful).
    for thread in {t for t, _ in job.seen}:
        mine = [s for t, s in job.seen if t == thread]
        ended = next((i for i, s in enumerate(mine) if s.terminal), None)
        if ended is not None and any(not s.terminal for s in mine[ended:]):
            found.append(f"{name}: went back from {mine[ended]} (seen {mine})")
    terminal = [s for _, s in job.seen if s.terminal]
    if len(set(terminal)) > 1:
        found.append(f"{name}: terminal state changed: {sorted(set(terminal))}")
    final = job.final.state
    if not job.cancel:
        expected = {JobState.SUCCEEDED}
    elif job.cancel_reported in (JobState.SUCCEEDED, JobState.FAILED):
        expected = {job.cancel_reported}  # it had ended before the cancel: nothing changes
    else:
        expected = {JobState.CANCELLED}
    if final not in expected:
        found.append(f"{name}: ended {final} ({job.final.message}), expected {expected}")
    run_dir = Path(job.plan.request["run_dir"])
    if not run_dir.is_dir():
        found.append(f"{name}: run directory {run_dir} is missing")
    if require_summary and final == JobState.SUCCEEDED and not list(run_dir.rglob("summary.json")):
        found.append(f"{name}: SUCCEEDED without a summary.json")
    return found


def run_load(
    provider: LocalProvider,
    plans: list[Plan],
    *,
    cancel_every: int = 5,
    cancel_within: float = 3.0,
    timeout: float = 600.0,
    seed: int = 0,
    require_summary: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> LoadReport:
    """Submit ``plans`` concurrently with status/list/cancel calls interleaved; check the end."""
    rng = random.Random(seed)
    jobs = [
        Tracked(plan, cancel=(i % cancel_every == cancel_every - 1)) for i, plan in enumerate(plans)
    ]
    submitted = threading.Event()
    calls = 0
    calls_lock = threading.Lock()
    problems: list[str] = []

    def submit(job: Tracked) -> None:
        try:
            status = provider.submit(job.plan)
        except Exception as exc:
            job.submit_error = f"{type(exc).__name__}: {exc}"
            return
        job.handle = status.handle
        job.observe(status)

    def cancel(job: Tracked, delay: float) -> None:
        sleep(delay)
        if job.handle is None:
            return
        job.cancel_reported = provider.cancel(JobHandle.parse(job.handle)).state

    def poll(stop: threading.Event, worker_seed: int) -> None:
        nonlocal calls
        local = random.Random(worker_seed)
        while not stop.is_set():
            ready = [j for j in jobs if j.handle]
            if ready and local.random() < 0.9:
                job = local.choice(ready)
                assert job.handle is not None
                job.observe(provider.status(JobHandle.parse(job.handle)))
            else:
                listed = {s.name for s in provider.list()}
                if submitted.is_set():
                    for job in jobs:
                        if job.handle and job.plan.job_name not in listed:
                            problems.append(f"{job.plan.job_name}: missing from list()")
            with calls_lock:
                calls += 1
            sleep(0.02)

    stop = threading.Event()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(jobs) + 4) as pool:
        pollers = [pool.submit(poll, stop, seed + n) for n in range(3)]
        list(pool.map(submit, jobs))
        submitted.set()
        cancels = [
            pool.submit(cancel, job, rng.uniform(0.0, cancel_within)) for job in jobs if job.cancel
        ]
        for future in cancels:
            future.result()
        deadline = time.monotonic() + timeout
        pending = [j for j in jobs if j.handle]
        while pending and time.monotonic() < deadline:
            for job in pending:
                assert job.handle is not None
                status = provider.status(JobHandle.parse(job.handle))
                job.observe(status)
                job.final = status
            pending = [j for j in pending if not (j.final and j.final.state.terminal)]
            if pending:
                sleep(0.2)
        wall = time.perf_counter() - start
        stop.set()
        for future in pollers:
            future.result()
    for job in jobs:
        if job.handle:  # a last look, after every poller stopped
            job.observe(provider.status(JobHandle.parse(job.handle)))
        problems.extend(_problems(job, require_summary))
    finals: dict[str, int] = {}
    for job in jobs:
        key = job.final.state.value if job.final else "NONE"
        finals[key] = finals.get(key, 0) + 1
    return LoadReport(
        jobs=len(jobs),
        cancelled=sum(j.cancel for j in jobs),
        wall_seconds=wall,
        status_calls=calls,
        problems=sorted(set(problems)),
        finals=finals,
    )


def make_plans(
    provider: LocalProvider, runs: Path, n: int, kind: str, seconds: float
) -> list[Plan]:
    """``n`` distinct local plans (trainer jobs, or the same jobs running a tiny script)."""
    ctx = RenderContext(now=NOW, runs_dir=str(runs))
    plans = [provider.plan(job_spec(i), ctx) for i in range(n)]
    if kind == "trainer":
        return plans
    script = runs.parent / "load-job.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT.format(seconds=seconds))
    return [scripted(plan, script) for plan in plans]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--kind", choices=["trainer", "script"], default="trainer")
    parser.add_argument("--cancel-every", type=int, default=5)
    parser.add_argument("--script-seconds", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="cloudgd-load-") as tmp:
        os.environ["CLOUDGD_HOME"] = str(Path(tmp) / "home")
        runs = Path(tmp) / "home" / "runs"
        provider = LocalProvider(runs_dir=str(runs))
        plans = make_plans(provider, runs, args.jobs, args.kind, args.script_seconds)
        report = run_load(
            provider,
            plans,
            cancel_every=args.cancel_every,
            timeout=args.timeout,
            require_summary=args.kind == "trainer",
        )
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC  {os.cpu_count()} cores  kind={args.kind}  "
        f"cancel every {args.cancel_every}th job"
    )
    for line in report.lines():
        print("  " + line)
    if report.problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

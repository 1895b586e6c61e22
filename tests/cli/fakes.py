"""A small provider that implements the real Provider ABC, for CLI tests.

Jobs live in ``$CLOUDGD_HOME/fake-jobs.json`` so separate CLI invocations see
them, as with a real cloud. The job's fate is steered from the spec:
``env.FAKE_OUTCOME`` = SUCCEEDED (default), FAILED, FOREVER (stays RUNNING),
REFUSE (ProviderError on submit), CRASH (a bug: RuntimeError), INTERRUPT (Ctrl-C
during submit), CTRL_C_LOGS (Ctrl-C while following the logs). ``env.FAKE_SUMMARY``
(JSON) is the summary.json the job leaves in its output, as Vertex and Azure ML jobs
do: their status carries no final metrics.
Each status call moves a job one step: PENDING → RUNNING → outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from cloudgd import registry
from cloudgd.errors import JobNotFoundError, ProviderError
from cloudgd.home import home
from cloudgd.naming import job_name
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext, Upload
from cloudgd.report.runfiles import NoMetricsError
from cloudgd.spec import JobSpec
from providers.aws.options import AwsOptions
from providers.base import Provider
from providers.features import SupportsRehearsal
from providers.local.options import LocalOptions
from providers.rehearsal_follow import local_run

LOG_LINES = ["starting", "epoch 1/3 loss=0.90", "epoch 2/3 loss=0.50", "epoch 3/3 loss=0.25"]


def _store_path() -> Path:
    return home() / "fake-jobs.json"


def load_jobs() -> dict[str, dict[str, Any]]:
    path = _store_path()
    return json.loads(path.read_text()) if path.exists() else {}


def _save(jobs: dict[str, dict[str, Any]]) -> None:
    _store_path().parent.mkdir(parents=True, exist_ok=True)
    _store_path().write_text(json.dumps(jobs))


class FakeProvider(Provider):
    """Cloud-like: a handle fake://zone-1/<job>, a bundle, a rehearsal backend."""

    name: ClassVar[str] = "fake"
    options_model: ClassVar[type[BaseModel]] = LocalOptions
    backends: ClassVar[tuple[str, ...]] = ("cloud", "rehearsal")
    bundle_format: ClassVar[str | None] = "tar.gz"

    def _handle(self, name: str) -> JobHandle:
        params = {} if self.backend == "cloud" else {"backend": self.backend}
        return JobHandle(provider=self.name, parts=("zone-1", name), params=params)

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        name = job_name(spec, ctx.idempotency_key)
        uploads = []
        if ctx.bundle is not None:
            uploads.append(
                Upload(source=ctx.bundle.path, destination=f"fake://bucket/{ctx.bundle.filename}")
            )
        return Plan(
            provider=self.name,
            operation="fake:CreateJob",
            request={
                "name": name,
                "outcome": spec.env.get("FAKE_OUTCOME", "SUCCEEDED"),
                "epochs": spec.trainer.epochs,
                "bundle": ctx.bundle.filename if ctx.bundle else None,
                "key": ctx.idempotency_key,
                "summary": spec.env.get("FAKE_SUMMARY"),
            },
            uploads=uploads,
            handle=str(self._handle(name)),
            job_name=name,
            summary={"nodes": spec.resources.nodes, "accelerator": spec.resources.accelerator},
        )

    def submit(self, plan: Plan) -> JobStatus:
        outcome = plan.request["outcome"]
        if outcome == "REFUSE":
            raise ProviderError("fake cloud refused the job", hint="it always does")
        if outcome == "CRASH":
            raise RuntimeError("boom")
        if outcome == "INTERRUPT":
            raise KeyboardInterrupt
        jobs = load_jobs()
        if plan.job_name not in jobs:
            jobs[plan.job_name] = {
                "outcome": outcome,
                "step": 0,
                "cancelled": False,
                "summary": plan.request.get("summary"),
            }
            _save(jobs)
        return self._status(plan.job_name, jobs[plan.job_name])

    def _state(self, job: dict[str, Any]) -> JobState:
        if job["cancelled"]:
            return JobState.CANCELLED
        if job["step"] == 0:
            return JobState.PENDING
        if job["step"] == 1 or job["outcome"] == "FOREVER":
            return JobState.RUNNING
        return JobState(job["outcome"])

    def _status(self, name: str, job: dict[str, Any]) -> JobStatus:
        state = self._state(job)
        return JobStatus(
            handle=str(self._handle(name)),
            name=name,
            state=state,
            raw_state=f"Fake{state.value.title()}",
            message="exit code 1" if state is JobState.FAILED else None,
            metrics={"val_loss": 0.25} if state is JobState.SUCCEEDED else {},
        )

    def _job(self, handle: JobHandle) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        jobs = load_jobs()
        if handle.job not in jobs:
            raise JobNotFoundError(f"no fake job named {handle.job!r}")
        return jobs, jobs[handle.job]

    def status(self, handle: JobHandle) -> JobStatus:
        run = local_run(handle)
        if run is not None:
            return registry.create("local").status(run)
        jobs, job = self._job(handle)
        status = self._status(handle.job, job)
        job["step"] += 1
        _save(jobs)
        return status

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        jobs, job = self._job(handle)
        if job["outcome"] == "CTRL_C_LOGS":
            yield LOG_LINES[0]
            raise KeyboardInterrupt
        yield from LOG_LINES
        if follow and job["outcome"] != "FOREVER":
            job["step"] = max(job["step"], 2)
            _save(jobs)

    def fetch_run_files(self, handle: JobHandle) -> Path:
        _, job = self._job(handle)
        if not job.get("summary"):
            raise NoMetricsError(f"fake job {handle.job} wrote no summary.json")
        folder = home() / "fake-run-files" / handle.job
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "summary.json").write_text(job["summary"])
        return folder

    def cancel(self, handle: JobHandle) -> JobStatus:
        jobs, job = self._job(handle)
        if not self._state(job).terminal:
            job["cancelled"] = True
            _save(jobs)
        return self._status(handle.job, job)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        jobs = load_jobs()
        names = [n for n in reversed(list(jobs)) if not prefix or n.startswith(prefix)]
        return [self._status(n, jobs[n]) for n in names]


class FakeLocalProvider(FakeProvider):
    """Stands in for the local provider in rehearsal tests: handles are local://<run dir>."""

    name: ClassVar[str] = "local"
    backends: ClassVar[tuple[str, ...]] = ("cloud",)
    bundle_format: ClassVar[str | None] = None
    runs_here: ClassVar[bool] = True
    resumable: ClassVar[bool] = True
    default_poll_seconds: ClassVar[float] = 1.0

    def _handle(self, name: str) -> JobHandle:
        runs = Path(self.runs_dir or home() / "runs")
        return JobHandle(provider="local", parts=(str(runs / name),))

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        plan = super().plan(spec, ctx)
        request = {**plan.request, "emulate": spec.providers.local.emulate}
        return plan.model_copy(update={"request": request})

    def _job(self, handle: JobHandle) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        return super()._job(JobHandle(provider="local", parts=(Path(handle.job).name,)))

    def status(self, handle: JobHandle) -> JobStatus:
        jobs, job = self._job(handle)
        status = self._status(Path(handle.job).name, job)
        job["step"] += 1
        _save(jobs)
        return status


class FakeAwsProvider(SupportsRehearsal, FakeProvider):
    """Stands in for the aws provider: a cloud with the moto rehearsal backend."""

    name: ClassVar[str] = "aws"
    options_model: ClassVar[type[BaseModel]] = AwsOptions  # it types providers.aws
    backends: ClassVar[tuple[str, ...]] = ("cloud", "moto")
    is_cloud: ClassVar[bool] = True
    uri_schemes: ClassVar[tuple[str, ...]] = ("s3",)
    rehearsal_backend: ClassVar[str] = "moto"
    rehearsal_server: ClassVar[tuple[str, str]] = ("moto", "tests.cli.fakes")  # never started
    rehearsal_cancels_backend: ClassVar[bool] = False

"""``toy``: a provider outside cloudgd, found through its entry point.

The "cloud" is a JSON file, ``$CLOUDGD_HOME/toy-jobs.json``, so separate CLI
invocations see the same jobs. Each status call moves a job one step along
queued → running → done, unless it was stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from cloudgd.errors import JobNotFoundError
from cloudgd.home import home
from cloudgd.naming import job_name
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider
from providers.settings import effective_options
from tests.plugin_provider.options import DESCRIPTION, TERRAFORM_OUTPUTS, ToyOptions

STATES = {
    "queued": JobState.PENDING,
    "running": JobState.RUNNING,
    "done": JobState.SUCCEEDED,
    "stopped": JobState.CANCELLED,
}
STEPS = ("queued", "running", "done")


def _store() -> Path:
    return home() / "toy-jobs.json"


def _load() -> dict[str, dict[str, Any]]:
    path = _store()
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save(jobs: dict[str, dict[str, Any]]) -> None:
    _store().parent.mkdir(parents=True, exist_ok=True)
    _store().write_text(json.dumps(jobs), encoding="utf-8")


class ToyProvider(Provider):
    """Jobs on a toy queue; the spec's ``providers.toy`` block picks the queue."""

    name: ClassVar[str] = "toy"
    options_model = ToyOptions
    options_description = DESCRIPTION
    terraform_outputs = TERRAFORM_OUTPUTS

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        options = effective_options(spec, ctx, self.name, ToyOptions)
        name = job_name(spec, ctx.idempotency_key)
        request = {
            "name": name,
            "queue": options.queue,
            "priority": options.priority,
            "owner": options.owner,
            "epochs": spec.trainer.epochs,
        }
        return Plan(
            provider=self.name,
            operation="toy:Enqueue",
            request=request,
            handle=str(JobHandle(provider=self.name, parts=(options.queue, name))),
            job_name=name,
            summary={"queue": options.queue, "nodes": spec.resources.nodes},
        )

    def submit(self, plan: Plan) -> JobStatus:
        jobs = _load()
        if plan.job_name not in jobs:  # idempotent: the same plan attaches to its job
            jobs[plan.job_name] = {"queue": plan.request["queue"], "step": 0, "stopped": False}
            _save(jobs)
        return self._status(plan.job_name, jobs[plan.job_name])

    def status(self, handle: JobHandle) -> JobStatus:
        jobs = _load()
        job = self._job(jobs, handle)
        current = self._status(handle.job, job)
        job["step"] = min(job["step"] + 1, len(STEPS) - 1)
        _save(jobs)
        return current

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        job = self._job(_load(), handle)
        yield f"queued on {job['queue']}"
        if job["step"] >= 1:
            yield "epoch 1 loss=0.5"
        if job["stopped"]:
            yield "stopped"

    def cancel(self, handle: JobHandle) -> JobStatus:
        jobs = _load()
        job = self._job(jobs, handle)
        if not self._state(job).terminal:
            job["stopped"] = True
            _save(jobs)
        return self._status(handle.job, job)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        jobs = _load()
        names = [name for name in reversed(list(jobs)) if not prefix or name.startswith(prefix)]
        return [self._status(name, jobs[name]) for name in names]

    def _job(self, jobs: dict[str, dict[str, Any]], handle: JobHandle) -> dict[str, Any]:
        if handle.job not in jobs:
            raise JobNotFoundError(f"no toy job named {handle.job!r}")
        return jobs[handle.job]

    def _raw(self, job: dict[str, Any]) -> str:
        return "stopped" if job["stopped"] else STEPS[job["step"]]

    def _state(self, job: dict[str, Any]) -> JobState:
        return STATES[self._raw(job)]

    def _status(self, name: str, job: dict[str, Any]) -> JobStatus:
        handle = JobHandle(provider=self.name, parts=(job["queue"], name))
        return JobStatus(
            handle=str(handle), name=name, state=self._state(job), raw_state=self._raw(job)
        )

"""Rehearsal handles (``?run=<dir>``): status, logs and cancel follow the local run, and
cancel also stops the job on the fake service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from azure_helpers import WORKSPACE, make_ctx, make_spec, real_bundle

from cloudgd import registry
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.azure.provider import AzureProvider
from providers.azure.rehearsal.fake import FakeAzureML
from providers.base import Provider


class RecordingLocal(Provider):
    """A local provider that remembers one run in memory (the real one lives in providers/local)."""

    name: ClassVar[str] = "local"
    options_model: ClassVar[Any] = dict
    state = JobState.RUNNING
    cancelled: ClassVar[list[str]] = []

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        raise NotImplementedError

    def submit(self, plan: Plan) -> JobStatus:
        raise NotImplementedError

    def _status(self, handle: JobHandle) -> JobStatus:
        return JobStatus(handle=str(handle), name="run", state=self.state, exit_code=None)

    def status(self, handle: JobHandle) -> JobStatus:
        return self._status(handle)

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        yield f"local log of {handle.parts[0]} (follow={follow})"

    def cancel(self, handle: JobHandle) -> JobStatus:
        RecordingLocal.cancelled.append(handle.parts[0])
        RecordingLocal.state = JobState.CANCELLED
        return self._status(handle)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        return []


@pytest.fixture
def local_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    real_create = registry.create

    def create(name: str, **kwargs: Any) -> Provider:
        return RecordingLocal() if name == "local" else real_create(name, **kwargs)

    monkeypatch.setattr(registry, "create", create)
    RecordingLocal.state = JobState.RUNNING
    RecordingLocal.cancelled.clear()


@pytest.mark.slow
def test_rehearsal_handles_follow_the_local_run(
    local_runs: None, fake_azure: FakeAzureML, tmp_path: Path
) -> None:
    provider = AzureProvider(backend="fake", endpoint=fake_azure.plain_url)
    spec = make_spec(providers={"azure": {**WORKSPACE, "manage_compute": True}})
    plan = provider.plan(spec, make_ctx(bundle=real_bundle(spec, tmp_path / "bundles")))
    submitted = JobHandle.parse(provider.submit(plan).handle)
    run_dir = str(tmp_path / "runs" / plan.job_name)
    handle = submitted.model_copy(update={"params": {**submitted.params, "run": run_dir}})

    status = provider.status(handle)
    assert (status.state, status.handle, status.extra["rehearsal_run"]) == (
        JobState.RUNNING,
        str(handle),
        f"local://{run_dir}",
    )
    assert list(provider.logs(handle, follow=True)) == [f"local log of {run_dir} (follow=True)"]

    cancelled = provider.cancel(handle)
    assert cancelled.state is JobState.CANCELLED and RecordingLocal.cancelled == [run_dir]
    remote = provider.status(submitted)  # the fake's job was cancelled too
    assert remote.state in (JobState.STOPPING, JobState.CANCELLED)


def test_cancelling_a_rehearsal_stops_the_local_run_even_if_the_fake_is_gone(
    local_runs: None, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handle = JobHandle.parse(
        f"azure://{WORKSPACE['subscription_id']}/ml-rg/ml-ws/digits-1"
        f"?backend=fake&endpoint=http://127.0.0.1:{port}&run={tmp_path / 'run'}"
    )
    cancelled = AzureProvider().cancel(handle)
    assert cancelled.state is JobState.CANCELLED
    assert RecordingLocal.cancelled == [str(tmp_path / "run")]
    assert "does not answer" in cancelled.extra["remote_cancel"]

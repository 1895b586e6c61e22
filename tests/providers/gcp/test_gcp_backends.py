"""Credentials, the detached fake server, rehearsal handles and the sdist Vertex installs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gcp_helpers import PROJECT, fixed_ctx, make_spec

from cloudgd import servers
from cloudgd.bundle import CONFIG_NAME, ENTRY_NAME, build_bundle
from cloudgd.errors import CredentialsError, UsageError
from cloudgd.plan import BundleRef, JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider
from providers.gcp import provider as gcp_provider
from providers.gcp.provider import GcpProvider
from providers.gcp.render import UNPACK_AND_LAUNCH, UNPACK_AND_RUN
from providers.rehearsal_follow import RehearsalFollower


def test_missing_application_default_credentials_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.auth.compute_engine import _metadata

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud login here
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)  # and never probe the metadata server
    handle = JobHandle.parse(f"gcp://{PROJECT}/us-central1/123")
    with pytest.raises(CredentialsError) as caught:
        GcpProvider().status(handle)
    assert caught.value.message == (
        "no Google Cloud credentials found (Application Default Credentials)"
    )
    assert "gcloud auth application-default login" in (caught.value.hint or "")


@pytest.fixture
def detached_fake() -> Iterator[str]:
    rehearsing = GcpProvider(backend="fake")
    url = rehearsing.start_rehearsal_server(
        *("--queued-seconds", "0.1", "--pending-seconds", "0.1", "--running-seconds", "0.5"),
    )
    try:
        yield url
    finally:
        assert rehearsing.stop_rehearsal_server()
        assert servers.running(gcp_provider.FAKE_SERVER) is None


@pytest.mark.slow
def test_backend_fake_starts_a_detached_server_that_later_calls_reach(
    detached_fake: str, real_bundle: BundleRef, cloudgd_home: Path
) -> None:
    submitter = GcpProvider(backend="fake")
    plan = submitter.plan(make_spec(), fixed_ctx(bundle=real_bundle))
    handle = JobHandle.parse(submitter.submit(plan).handle)
    assert handle.params["endpoint"] == detached_fake
    # A later CLI call builds a default provider; the handle alone leads it to the fake.
    final = GcpProvider().wait(handle, timeout=20, poll=0.1)
    assert final.state is JobState.SUCCEEDED
    log = (cloudgd_home / "servers" / f"{gcp_provider.FAKE_SERVER}.log").read_text()
    assert "POST /v1/projects/cloudgd-test-123/locations/us-central1/customJobs" in log


class _LocalRuns(Provider):
    """Stands in for the local provider (written in parallel) behind `run=` handles."""

    name = "local"
    options_model = JobSpec
    calls: list[str] = []

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        raise NotImplementedError

    def submit(self, plan: Plan) -> JobStatus:
        raise NotImplementedError

    def status(self, handle: JobHandle) -> JobStatus:
        self.calls.append(f"status {handle.job}")
        return JobStatus(handle=str(handle), name="run", state=JobState.RUNNING)

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        self.calls.append(f"logs {handle.job} follow={follow}")
        yield "epoch=1 loss=0.5"

    def cancel(self, handle: JobHandle) -> JobStatus:
        self.calls.append(f"cancel {handle.job}")
        return JobStatus(handle=str(handle), name="run", state=JobState.CANCELLED)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        return []


def test_rehearsal_handles_follow_the_local_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RehearsalFollower, "runner", lambda self: _LocalRuns())
    _LocalRuns.calls = []
    handle = JobHandle.parse(f"gcp://{PROJECT}/us-central1/123?run=/runs/digits-1")
    provider = GcpProvider()
    status = provider.status(handle)
    assert (status.state, status.handle) == (JobState.RUNNING, str(handle))
    assert status.extra["rehearsal_run"] == "local:///runs/digits-1"
    assert list(provider.logs(handle, follow=True)) == ["epoch=1 loss=0.5"]
    _LocalRuns.calls.clear()
    assert provider.cancel(handle).state is JobState.CANCELLED
    assert _LocalRuns.calls == ["cancel /runs/digits-1"]


def _sdist(tmp_path: Path) -> BundleRef:
    code = tmp_path / "src"
    code.mkdir()
    (code / "mymodel.py").write_text("def build(*a, **k):\n    return None\n")
    return build_bundle(json.dumps({"epochs": 3}), code, tmp_path / "bundles", "sdist")


def test_pip_installs_the_job_config_and_code_next_to_trainers(tmp_path: Path) -> None:
    """What Vertex does with pythonPackageSpec: pip install the sdist, run -m trainers."""
    bundle = _sdist(tmp_path)
    target = tmp_path / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(target), bundle.path],
        check=True,
        timeout=120,
    )  # fmt: skip
    assert json.loads((target / CONFIG_NAME).read_text()) == {"epochs": 3}
    assert (target / "trainers" / "config.py").is_file()
    assert (target / ENTRY_NAME).is_file()
    assert (target / "code" / "mymodel.py").is_file()


def test_custom_image_command_unpacks_the_sdist_and_runs_its_entry(tmp_path: Path) -> None:
    """What a custom-image worker runs: the containerSpec command, with a recording python."""
    bundle = _sdist(tmp_path)
    unpack = tmp_path / "cloudgd"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    recorder = bin_dir / "python"
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path / "argv"}\n')
    recorder.chmod(0o755)
    env: dict[str, Any] = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env["TMPDIR"] = str(tmp_path)  # the command unpacks into $TMPDIR/cloudgd
    subprocess.run(
        ["sh", "-c", UNPACK_AND_RUN, bundle.path, "--checkpoint-dir", "/gcs/b/ckpt"],
        check=True,
        env=env,
        timeout=60,
    )
    argv = (tmp_path / "argv").read_text().split()
    assert argv == [str(unpack / ENTRY_NAME), "--checkpoint-dir", "/gcs/b/ckpt"]
    assert json.loads((unpack / CONFIG_NAME).read_text()) == {"epochs": 3}
    assert (unpack / "trainers" / "__init__.py").is_file()
    with tarfile.open(bundle.path) as archive:
        roots = {name.split("/", 1)[0] for name in archive.getnames()}
    assert len(roots) == 1  # the single sdist root that --strip-components=1 removes


def test_rehearsal_cancel_stops_the_local_run_even_when_the_fake_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RehearsalFollower, "runner", lambda self: _LocalRuns())
    _LocalRuns.calls = []
    gone = "http://127.0.0.1:9"  # nothing listens on the discard port here
    handle = JobHandle.parse(
        f"gcp://{PROJECT}/us-central1/123?run=/runs/digits-1&backend=fake&endpoint={gone}"
    )
    cancelled = GcpProvider().cancel(handle)
    assert cancelled.state is JobState.CANCELLED  # what the local run says
    assert _LocalRuns.calls == ["cancel /runs/digits-1"]
    assert "Connection refused" in cancelled.extra["remote_cancel"]  # why the fake kept its job


def test_an_endpoint_without_the_fake_backend_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--endpoint"):
        GcpProvider(endpoint="http://127.0.0.1:8790")


def test_a_rehearsal_plan_is_never_sent_to_google_cloud(real_bundle: BundleRef) -> None:
    plan = GcpProvider(backend="fake", endpoint="http://127.0.0.1:9").plan(
        make_spec(providers={"gcp": {}}), fixed_ctx(bundle=real_bundle)
    )
    with pytest.raises(UsageError, match="rehearsal"):
        GcpProvider().submit(plan)


def test_several_gpus_per_machine_start_the_per_gpu_launcher(tmp_path: Path) -> None:
    """Vertex runs one process per machine; A100:8 machines launch eight trainers."""
    spec = make_spec(resources={"accelerator": "A100:8"}, image="us-docker.pkg.dev/p/r/t:1")
    plan = GcpProvider().plan(spec, fixed_ctx())
    container = plan.request["customJob"]["jobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    assert container["command"][2] == UNPACK_AND_LAUNCH
    assert container["args"][:2] == ["--nproc-per-node", "8"]

    bundle = _sdist(tmp_path)
    unpack = tmp_path / "cloudgd"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    recorder = bin_dir / "python"
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$PWD" "$@" > {tmp_path / "argv"}\n')
    recorder.chmod(0o755)
    env: dict[str, Any] = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env["TMPDIR"] = str(tmp_path)
    subprocess.run(
        ["sh", "-c", UNPACK_AND_LAUNCH, bundle.path, *container["args"]], check=True, env=env
    )
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:5] == [str(unpack), "-m", "trainers.launch", "--nproc-per-node", "8"]
    assert (unpack / CONFIG_NAME).is_file()

"""Google Vertex AI provider: plan (pure render), submit, status, logs, cancel, list.

Handles are ``gcp://<project>/<location>/<job id>``; the plan's handle names the job
by its display name instead (the service assigns the numeric ID), and both resolve.
Rehearsal handles carry ``backend=fake&endpoint=http://127.0.0.1:PORT`` so later
CLI calls reach the same fake, and ``run=<local run dir>`` with ``--run-local``:
then status, logs and cancel follow the local run, which is the job that really runs.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from cloudgd import registry, servers
from cloudgd.errors import (
    CloudgdError,
    CredentialsError,
    JobNotFoundError,
    ProviderError,
    UsageError,
)
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Capability, Provider, fetched_dir, rehearsal_run
from providers.gcp import labels as lbl
from providers.gcp.inputs import check_inputs, download_inputs
from providers.gcp.options import GcpOptions
from providers.gcp.render import REHEARSAL_PROJECT, render
from providers.gcp.states import RETRYABLE_ENDINGS, job_state, state_name

FAKE_SERVER = "gcp-fake"
ENDPOINT_ENV = "CLOUDGD_GCP_ENDPOINT"
CONSOLE = (
    "https://console.cloud.google.com/agent-platform/locations/{loc}/training/{id}?project={p}"
)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def vertex_status(job: dict[str, Any], endpoint: str | None, console: str = CONSOLE) -> JobStatus:
    """A Vertex job resource (custom or tuning: they share these fields) as a JobStatus;
    ``console`` is the Cloud console URL pattern of its kind."""
    raw = state_name(job.get("state"))
    _, project, _, location, _, job_id = job["name"].split("/")
    return JobStatus(
        handle=GcpProvider._handle(job, endpoint),
        name=job.get("displayName", job_id),
        state=job_state(raw),
        raw_state=raw,
        message=(job.get("error") or {}).get("message") or None,
        created_at=_time(job.get("createTime")),
        started_at=_time(job.get("startTime")),
        ended_at=_time(job.get("endTime")),
        console_url=None if endpoint else console.format(loc=location, id=job_id, p=project),
        extra={"job_id": job_id, "resource_name": job["name"]},
    )


def download_run_files(
    api: Any, job: dict[str, Any], spec_key: str, under: str, dest: Path, handle: JobHandle
) -> Path:
    """metrics.jsonl and summary.json from ``<baseOutputDirectory>/<under>`` of a Vertex
    job (``spec_key``: ``jobSpec`` of a custom job, ``trialJobSpec`` of a tuning job)."""
    from cloudgd.report.runfiles import RUN_FILES, NoMetricsError, clear_run_files

    base = ((job.get(spec_key) or {}).get("baseOutputDirectory") or {}).get("outputUriPrefix")
    if not base:
        raise ProviderError(
            f"Vertex AI job {handle.job} has no baseOutputDirectory",
            hint="jobs cloudgd submits always set one; was this job created elsewhere?",
        )
    prefix = base.rstrip("/") + "/" + under
    clear_run_files(dest)
    if not api.download_files(prefix, RUN_FILES, dest, job["name"].split("/")[1]):
        raise NoMetricsError(
            f"{handle.job}: no metrics yet (nothing under {prefix}; job state "
            f"{state_name(job.get('state'))})",
            hint=f"follow the job with: cloudgd logs --follow '{handle}'",
        )
    return dest


class GcpProvider(Provider):
    """Vertex AI custom jobs; ``--backend fake`` rehearses against a local fake service."""

    name: ClassVar[str] = "gcp"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CPU,
            Capability.GPU,
            Capability.TPU,
            Capability.MULTI_NODE,
            Capability.SPOT,
            Capability.LOGS,
            Capability.CANCEL,
        }
    )
    options_model: ClassVar[type[BaseModel]] = GcpOptions
    backends: ClassVar[tuple[str, ...]] = ("cloud", "fake")
    bundle_format: ClassVar[str] = "sdist"  # Vertex pip-installs the trainer package

    def __init__(
        self,
        *,
        backend: str = "cloud",
        endpoint: str | None = None,
        run_local: bool = False,
        client_factory: Callable[..., Any] | None = None,
        runs_dir: str | None = None,
        project: str | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(
            backend=backend,
            endpoint=endpoint,
            run_local=run_local,
            client_factory=client_factory,
            runs_dir=runs_dir,
        )
        if endpoint and backend != "fake":
            raise UsageError(
                "--endpoint only applies to --backend fake",
                hint="the cloud endpoint follows the job's location",
            )
        self.project = project
        self.location = location
        # Seconds between log polls with --follow: the fake moves in seconds, Vertex in minutes.
        self.poll_seconds = 0.5 if backend == "fake" else 5.0
        self._apis: dict[tuple[str, str | None], Any] = {}

    # -- plumbing ------------------------------------------------------------
    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        return render(spec, ctx, rehearsal=self.backend == "fake")

    def _fake_endpoint(self) -> str:
        return (
            self.endpoint
            or os.environ.get(ENDPOINT_ENV)
            or servers.ensure(FAKE_SERVER, "providers.gcp.fake")
        )

    def _endpoint_for(self, handle: JobHandle | None) -> str | None:
        """The fake's URL for this call, or None for the real cloud."""
        backend = (handle.params.get("backend") if handle else None) or self.backend
        if backend != "fake":
            return None
        return (handle.params.get("endpoint") if handle else None) or self._fake_endpoint()

    def _api(self, location: str, endpoint: str | None, project: str | None = None) -> Any:
        key = (location, endpoint)
        if key not in self._apis:
            if self.client_factory is not None:
                factory = self.client_factory
            else:
                from providers.gcp.client import make_api

                factory = make_api
            self._apis[key] = factory(location=location, endpoint=endpoint, project=project)
        return self._apis[key]

    @staticmethod
    def _where(handle: JobHandle) -> tuple[str, str, str]:
        if len(handle.parts) != 3:
            raise UsageError(
                f"not a gcp job handle: {handle}",
                hint="gcp handles look like gcp://<project>/<location>/<job id>",
            )
        project, location, job = handle.parts
        return project, location, job

    @staticmethod
    def _handle(job: dict[str, Any], endpoint: str | None) -> str:
        _, project, _, location, _, job_id = job["name"].split("/")
        params = {"backend": "fake", "endpoint": endpoint} if endpoint else {}
        return str(JobHandle(provider="gcp", parts=(project, location, job_id), params=params))

    def _status(self, job: dict[str, Any], endpoint: str | None) -> JobStatus:
        return vertex_status(job, endpoint)

    def _resolve(self, handle: JobHandle) -> tuple[Any, dict[str, Any], str | None]:
        """(api, job dict, endpoint) for a handle naming a custom job by ID or display name."""
        return self.resolve_resource(
            handle,
            collection="customJobs",
            what="job",
            get=lambda api, name: api.get_job(name),
            find=lambda api, parent, where: api.list_jobs(parent, where),
        )

    def resolve_resource(
        self,
        handle: JobHandle,
        *,
        collection: str,
        what: str,
        get: Callable[[Any, str], dict[str, Any]],
        find: Callable[[Any, str, str], list[dict[str, Any]]],
    ) -> tuple[Any, dict[str, Any], str | None]:
        """The lookup every Vertex resource shares: a numeric ID is read directly, a
        display name is found by its cloudgd label (the newest wins)."""
        project, location, job = self._where(handle)
        endpoint = self._endpoint_for(handle)
        api = self._api(location, endpoint, project)
        parent = f"projects/{project}/locations/{location}"
        if job.isdigit():
            return api, get(api, f"{parent}/{collection}/{job}"), endpoint
        found = find(api, parent, f'labels.{lbl.KEY_JOB}="{lbl.label_value(job)}"')
        if not found:
            raise JobNotFoundError(f"no Vertex AI {what} named {job} in {parent}")
        return api, max(found, key=lambda j: j.get("createTime", "")), endpoint

    @staticmethod
    def _local() -> Provider:
        return registry.create("local")

    # -- Provider API ----------------------------------------------------------
    def submit(self, plan: Plan) -> JobStatus:
        """Upload the sdist, then create the job; an existing job from the same spec and
        idempotency key (found by label) is returned instead of creating a second one."""
        return self.submit_resource(
            plan,
            body_key="customJob",
            what="plan",
            find=lambda api, parent, where: api.list_jobs(parent, where),
            create=lambda api, parent, body: api.create_job(parent, body),
            as_status=self._status,
        )

    # what rehearsal_inputs can copy from the fake store (others: the local planner refuses)
    rehearsal_data_prefixes: ClassVar[tuple[str, ...]] = ("gs://",)

    def rehearsal_inputs(self, plan: Plan, dest: Path) -> dict[str, str]:
        """``--run-local`` after :meth:`submit` (which checked the inputs exist): each
        ``gs://`` input copied from the fake's Cloud Storage to ``dest/<channel>``, the
        data the job reads through ``/gcs``; channel -> local path."""
        _, project, _, location = plan.request["parent"].split("/")
        api = self._api(location, self._fake_endpoint(), project)
        return download_inputs(api, plan.summary.get("inputs") or {}, dest, project)

    def submit_resource(
        self,
        plan: Plan,
        *,
        body_key: str,
        what: str,
        find: Callable[[Any, str, str], list[dict[str, Any]]],
        create: Callable[[Any, str, dict[str, Any]], dict[str, Any]],
        as_status: Callable[[dict[str, Any], str | None], JobStatus],
    ) -> JobStatus:
        """The submit every Vertex resource shares (custom jobs, tuning jobs): refuse a
        rehearsal plan on the cloud, attach to a live job with the same labels, else
        upload the sdist and create ``plan.request[body_key]``."""
        parent = plan.request["parent"]
        _, project, _, location = parent.split("/")
        if self.backend != "fake" and plan.summary.get("rehearsal_placeholders"):
            raise UsageError(
                f"this {what} was made for a rehearsal (placeholder project or bucket), "
                "not for Google Cloud",
                hint="set providers.gcp.project and staging_bucket, then plan again",
            )
        endpoint = self._fake_endpoint() if self.backend == "fake" else None
        api = self._api(location, endpoint, project)
        body = plan.request[body_key]
        existing = [
            job
            for job in find(api, parent, lbl.lookup_filter(body["labels"]))
            if state_name(job.get("state")) not in RETRYABLE_ENDINGS
        ]
        if existing:
            return as_status(max(existing, key=lambda j: j.get("createTime", "")), endpoint)
        if endpoint:  # a rehearsal: its inputs must be in the fake store, as in the cloud
            script = "script" in plan.summary  # a script job's inputs are script.inputs
            check_inputs(api, plan.summary.get("inputs") or {}, project, endpoint, script=script)
        for upload in plan.uploads:
            if endpoint:
                api.ensure_bucket(upload.destination.removeprefix("gs://").split("/")[0], project)
            api.upload(upload.source, upload.destination, upload.sha256, project)
        return as_status(create(api, parent, body), endpoint)

    def status(self, handle: JobHandle) -> JobStatus:
        local = rehearsal_run(handle)
        if local is not None:
            status = self._local().status(local)
            return status.model_copy(
                update={"handle": str(handle), "extra": {**status.extra, "local_run": str(local)}}
            )
        _, job, endpoint = self._resolve(handle)
        return self._status(job, endpoint)

    def fetch_run_files(self, handle: JobHandle) -> Path:
        """metrics.jsonl and summary.json from ``<baseOutputDirectory>/output/``.

        Vertex sets AIP_MODEL_DIR to ``<base>/model/`` and the trainer writes its
        output dir beside it, through the Cloud Storage FUSE mount, so the files
        appear (and grow) while the job runs.
        """
        if rehearsal_run(handle) is not None:
            return super().fetch_run_files(handle)

        api, job, _ = self._resolve(handle)
        return download_run_files(api, job, "jobSpec", "output/", fetched_dir(handle), handle)

    def download(
        self,
        handle: JobHandle,
        dest: Path,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> list[Path]:
        """``<baseOutputDirectory>/model/`` and ``/output/`` into ``dest/model`` and
        ``dest/output`` (see providers/gcp/download.py)."""
        if rehearsal_run(handle) is not None:
            return super().download(handle, dest, progress=progress)
        from providers.gcp.download import download_job

        api, job, _ = self._resolve(handle)
        return download_job(api, job, handle, dest, progress)

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        local = rehearsal_run(handle)
        if local is not None:
            yield from self._local().logs(local, follow=follow)
            return
        api, job, _ = self._resolve(handle)
        yield from self.stream_logs(api, job, refresh=lambda name: api.get_job(name), follow=follow)

    def stream_logs(
        self,
        api: Any,
        job: dict[str, Any],
        *,
        refresh: Callable[[str], dict[str, Any]],
        follow: bool,
    ) -> Iterator[str]:
        """A Vertex job's Cloud Logging lines, oldest first; with ``follow``, until it ends.

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
            time.sleep(self.poll_seconds)
            job = refresh(job["name"])

    def cancel(self, handle: JobHandle) -> JobStatus:
        local = rehearsal_run(handle)
        if local is not None:
            self._local().cancel(local)
            if handle.params.get("backend") == "fake":
                remote = {k: v for k, v in handle.params.items() if k != "run"}
                # The local run is the job; a stopped fake must not fail the cancel.
                with contextlib.suppress(CloudgdError):
                    self._cancel_remote(handle.model_copy(update={"params": remote}))
            return self.status(handle)
        return self._cancel_remote(handle)

    def _cancel_remote(self, handle: JobHandle) -> JobStatus:
        api, job, endpoint = self._resolve(handle)
        if job_state(state_name(job.get("state"))).terminal:
            return self._status(job, endpoint)
        try:
            api.cancel_job(job["name"])
        except ProviderError:
            # Lost a race with the job's own end (FAILED_PRECONDITION): report that end.
            current = api.get_job(job["name"])
            if not job_state(state_name(current.get("state"))).terminal:
                raise
            return self._status(current, endpoint)
        return self._status(api.get_job(job["name"]), endpoint)

    def upload_data(self, path: Path, uri: str) -> list[str]:
        """Put a local file or directory at a gs:// URI (the fake's store with --backend
        fake), in the project ``list`` would look in."""
        from providers.gcp.inputs import upload_path

        api, parent, _ = self._list_scope()
        return upload_path(api, path, uri, parent.split("/")[1])

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        """cloudgd's custom and tuning jobs (by label) in one location, newest first."""
        from providers.gcp.tuning_jobs import study_status

        api, parent, endpoint = self._list_scope()
        managed = f'labels.{lbl.KEY_MANAGED}="true"'
        statuses = [self._status(job, endpoint) for job in api.list_jobs(parent, managed)]
        # A role from before `cloudgd tune` may list custom jobs but not tuning jobs.
        with contextlib.suppress(CredentialsError):
            statuses += [study_status(j, endpoint) for j in api.list_tuning_jobs(parent, managed)]
        if prefix:
            statuses = [s for s in statuses if s.name.startswith(prefix)]
        return sorted(
            statuses, key=lambda s: s.created_at.timestamp() if s.created_at else 0.0, reverse=True
        )

    def _list_scope(self) -> tuple[Any, str, str | None]:
        """(api, ``projects/<p>/locations/<l>``, endpoint) where ``list`` looks."""
        configured = self.user_settings
        project = (
            self.project
            or configured.get("project")
            or os.environ.get("GOOGLE_CLOUD_PROJECT")
            or os.environ.get("CLOUDSDK_CORE_PROJECT")
        )
        location = (
            self.location
            or configured.get("location")
            or os.environ.get("CLOUDGD_GCP_LOCATION")
            or "us-central1"
        )
        endpoint = self._fake_endpoint() if self.backend == "fake" else None
        api = self._api(location, endpoint, project)
        project = project or getattr(api, "default_project", None)
        if not project and self.backend == "fake":  # where rehearsal plans put their jobs
            project = REHEARSAL_PROJECT
        if not project:
            raise UsageError(
                "gcp: no project to list jobs in",
                hint="set providers.gcp.project in the user config (`cloudgd config`) or "
                "GOOGLE_CLOUD_PROJECT (and CLOUDGD_GCP_LOCATION, default us-central1)",
            )
        return api, f"projects/{project}/locations/{location}", endpoint

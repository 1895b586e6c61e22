"""Google Vertex AI provider: plan (pure render), submit, status, logs, cancel, list.

Handles are ``gcp://<project>/<location>/<job id>``; the plan's handle names the job
by its display name instead (the service assigns the numeric ID), and both resolve.
Rehearsal handles carry ``backend=fake&endpoint=http://127.0.0.1:PORT`` so later
CLI calls reach the same fake, and ``run=<local run dir>`` with ``--run-local``:
then status, logs and cancel follow the local run, which is the job that really runs
(:mod:`providers.rehearsal_follow`). Statuses are read in :mod:`providers.gcp.status`,
logs in :mod:`providers.gcp.logs`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from cloudgd.errors import CredentialsError, JobNotFoundError, ProviderError, UsageError
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider, fetched_dir
from providers.cloud_tuning import CloudTuning
from providers.features import SupportsRehearsal
from providers.gcp import labels as lbl
from providers.gcp.download import download_run_files
from providers.gcp.inputs import check_inputs, download_inputs
from providers.gcp.logs import stream_logs
from providers.gcp.options import DESCRIPTION, TERRAFORM_OUTPUTS, GcpOptions
from providers.gcp.render import REHEARSAL_PROJECT, render
from providers.gcp.states import RETRYABLE_ENDINGS, job_state, state_name
from providers.gcp.status import CONSOLE, job_handle, vertex_status
from providers.rehearsal_follow import follows_rehearsal

if TYPE_CHECKING:
    from providers.local.tuning_jobs import TrialPlanner

# Where they lived before status.py and download.py (the tuning code imports them here).
__all__ = ["CONSOLE", "GcpProvider", "download_run_files", "vertex_status"]

FAKE_SERVER = "gcp-fake"
ENDPOINT_ENV = "CLOUDGD_GCP_ENDPOINT"


class GcpProvider(CloudTuning, SupportsRehearsal, Provider):
    """Vertex AI custom jobs; ``--backend fake`` rehearses against a local fake service."""

    name: ClassVar[str] = "gcp"
    options_model: ClassVar[type[BaseModel]] = GcpOptions
    options_description = DESCRIPTION
    tuning_jobs_module: ClassVar[str] = "providers.gcp.tuning_jobs"
    terraform_outputs = TERRAFORM_OUTPUTS
    backends: ClassVar[tuple[str, ...]] = ("cloud", "fake")
    is_cloud: ClassVar[bool] = True
    uri_schemes: ClassVar[tuple[str, ...]] = ("gs",)
    bundle_format: ClassVar[str | None] = "sdist"  # Vertex pip-installs the trainer package
    rehearsal_backend: ClassVar[str] = "fake"
    rehearsal_server: ClassVar[tuple[str, str]] = (FAKE_SERVER, "providers.gcp.rehearsal.fake")

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
        return self.endpoint or os.environ.get(ENDPOINT_ENV) or self.start_rehearsal_server()

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

    _handle = staticmethod(job_handle)

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

    def rehearse(
        self, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext, local: Provider
    ) -> tuple[JobStatus, Plan]:
        """A script job in python-package mode rehearses what Vertex runs: the uploaded
        package pip-installed, then ``python -m <pythonModule> <args>``
        (:mod:`providers.gcp.package_rehearsal`); other jobs, the local emulation."""
        from providers.gcp.package_rehearsal import package_spec, rehearsal_plan

        if spec.script is None or package_spec(cloud_plan.request) is None:
            return super().rehearse(cloud_plan, spec, ctx, local)
        submitted = self.submit(cloud_plan)
        return submitted, rehearsal_plan(self, cloud_plan, spec, ctx, local)

    def rehearsal_trial_planner(self, tuning_plan: Plan, ctx: RenderContext) -> TrialPlanner | None:
        """A python-package script study's trials rehearse like its jobs: the uploaded
        package, the trial's values appended to the args."""
        from providers.gcp.package_rehearsal import trial_planner

        return trial_planner(self, tuning_plan, ctx)

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

    @follows_rehearsal
    def status(self, handle: JobHandle) -> JobStatus:
        _, job, endpoint = self._resolve(handle)
        return self._status(job, endpoint)

    @follows_rehearsal
    def fetch_run_files(self, handle: JobHandle) -> Path:
        """metrics.jsonl and summary.json from ``<baseOutputDirectory>/output/``.

        Vertex sets AIP_MODEL_DIR to ``<base>/model/`` and the trainer writes its
        output dir beside it, through the Cloud Storage FUSE mount, so the files
        appear (and grow) while the job runs.
        """
        api, job, _ = self._resolve(handle)
        return download_run_files(api, job, "jobSpec", "output/", fetched_dir(handle), handle)

    @follows_rehearsal
    def download(
        self,
        handle: JobHandle,
        dest: Path,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> list[Path]:
        """``<baseOutputDirectory>/model/`` and ``/output/`` into ``dest/model`` and
        ``dest/output`` (see providers/gcp/download.py)."""
        from providers.gcp.download import download_job

        api, job, _ = self._resolve(handle)
        return download_job(api, job, handle, dest, progress)

    @follows_rehearsal
    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
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
        """A Vertex job's Cloud Logging lines (:func:`providers.gcp.logs.stream_logs`)."""
        return stream_logs(api, job, refresh=refresh, follow=follow, poll_seconds=self.poll_seconds)

    @follows_rehearsal
    def cancel(self, handle: JobHandle) -> JobStatus:
        """Cancel the job; one that already ended is returned as it is."""
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

    # -- tuning (CloudTuning): tuning.py renders, tuning_jobs.py does the rest ---------
    def plan_tuning(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        from providers.gcp.tuning import render_tuning

        return render_tuning(spec, ctx, rehearsal=self.backend == "fake")

    @classmethod
    def trial_handle(cls, study: JobHandle, name: str) -> str:
        """A Vertex trial is no job of its own: the study's handle with ``trial=<id>``."""
        from cloudgd.tuning.trials import narrowed_trial_handle

        return narrowed_trial_handle(study, name)

    def trial_status(self, handle: JobHandle, trial: str) -> JobStatus:
        from providers.gcp import tuning_jobs

        return tuning_jobs.trial_status(self, handle, trial)

    def trial_run_files(self, handle: JobHandle, trial: str) -> Path:
        from providers.gcp import tuning_jobs

        return tuning_jobs.trial_run_files(self, handle, trial)

    def cancel_trial(self, handle: JobHandle, trial: str) -> JobStatus:
        from cloudgd.tuning.handle import study_of

        raise UsageError(
            "Vertex AI stops a study's trials only with the study",
            hint=f"cancel the whole study: cloudgd cancel '{study_of(handle)}'",
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

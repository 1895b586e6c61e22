"""AzureProvider: Azure ML command jobs, on the cloud or on the local fake service.

``plan`` renders (pure, :mod:`providers.azure.render`); ``submit`` sends the plan:
the compute cluster (created when ``manage_compute``, else checked), the code
upload, then the job document, unchanged. Status, logs and cancel work from the
handle alone: ``azure://<sub>/<rg>/<ws>/<job>[?backend=fake&endpoint=...]``, and
with ``run=<dir>`` (a ``--run-local`` rehearsal) they follow the local run
(:mod:`providers.rehearsal_follow`). Statuses are read in :mod:`providers.azure.status`,
logs in :mod:`providers.azure.logs`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cloudgd.errors import ProviderError, SpecError
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.handle import as_tuning
from providers.azure import code_asset
from providers.azure.connection import CLOUD
from providers.azure.inputs import DATASTORE_PREFIX, check_inputs, download_inputs
from providers.azure.logs import follow_logs
from providers.azure.options import DESCRIPTION, TERRAFORM_OUTPUTS, AzureOptions
from providers.azure.render import COMPUTE_OPERATION, render_plan
from providers.azure.scope import (
    REHEARSAL_RESOURCE_GROUP,
    REHEARSAL_SUBSCRIPTION,
    REHEARSAL_WORKSPACE,
    WorkspaceScope,
)
from providers.azure.states import job_state
from providers.azure.status import find_job, job_status, read_status
from providers.base import Provider, fetched_dir
from providers.cloud_tuning import CloudTuning
from providers.features import SupportsRehearsal
from providers.rehearsal_follow import follows_rehearsal

if TYPE_CHECKING:
    from providers.azure.connection import Connection
    from providers.local.tuning_jobs import TrialPlanner

ENDPOINT_ENV = "CLOUDGD_AZURE_ENDPOINT"
FAKE_SERVER = ("azure-fake", "providers.azure.rehearsal.fake")
LIST_TAG = "cloudgd:spec-hash"
# Workspace for `list` when no handle names one (the names MLClient.from_config users know).
WORKSPACE_ENV = ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME")


class AzureProvider(CloudTuning, SupportsRehearsal, Provider):
    """Azure ML (SDK v2) command jobs; ``--backend fake`` rehearses against a local service."""

    name: ClassVar[str] = "azure"
    options_model: ClassVar[type[AzureOptions]] = AzureOptions
    options_description = DESCRIPTION
    tuning_jobs_module: ClassVar[str] = "providers.azure.tuning_jobs"
    terraform_outputs = TERRAFORM_OUTPUTS
    backends: ClassVar[tuple[str, ...]] = ("cloud", "fake")
    is_cloud: ClassVar[bool] = True
    bundle_format: ClassVar[str | None] = "tar.gz"  # unpacked into the command job's code
    uri_schemes: ClassVar[tuple[str, ...]] = ("azureml", "abfss", "wasbs")
    rehearsal_backend: ClassVar[str] = "fake"
    rehearsal_server: ClassVar[tuple[str, str]] = FAKE_SERVER

    def __init__(
        self,
        *,
        backend: str = "cloud",
        endpoint: str | None = None,
        run_local: bool = False,
        client_factory: Callable[..., Any] | None = None,
        runs_dir: str | None = None,
        scope: WorkspaceScope | None = None,
        poll_seconds: float = 5.0,
    ) -> None:
        super().__init__(
            backend=backend,
            endpoint=endpoint,
            run_local=run_local,
            client_factory=client_factory,
            runs_dir=runs_dir,
        )
        self.scope = scope
        self.poll_seconds = poll_seconds

    # -- planning ------------------------------------------------------------
    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        return render_plan(spec, ctx, rehearsal=self.backend == "fake")

    # -- connections -----------------------------------------------------------
    def _fake_endpoint(self) -> str:
        if self.endpoint:
            return self.endpoint
        if os.environ.get(ENDPOINT_ENV):
            return os.environ[ENDPOINT_ENV]
        return self.start_rehearsal_server()

    def rehearsal_connection(self, endpoint: str | None) -> Connection:
        """How the client reaches the fake at ``endpoint`` (the rehearsal hook: the only
        place outside ``rehearsal/`` that reaches into it)."""
        from providers.azure.rehearsal.connection import fake_connection

        return fake_connection(endpoint)

    def _connect(
        self, scope: WorkspaceScope, backend: str, endpoint: str | None, retries: int
    ) -> Any:
        if self.client_factory is not None:
            return self.client_factory(
                scope, backend=backend, endpoint=endpoint, max_retries=retries
            )
        from providers.azure.client import connect

        connection = self.rehearsal_connection(endpoint) if backend == "fake" else CLOUD
        return connect(scope, connection=connection, max_retries=retries)

    def _for_handle(self, handle: JobHandle) -> Any:
        scope = WorkspaceScope.of_handle(handle)
        backend = handle.params.get("backend", self.backend)
        endpoint = handle.params.get("endpoint") or (
            self._fake_endpoint() if backend == "fake" else None
        )
        return self._connect(scope, backend, endpoint, AzureOptions().max_retries)

    def _handle(self, scope: WorkspaceScope, job: str, endpoint: str | None) -> JobHandle:
        params = {"backend": "fake", "endpoint": endpoint} if endpoint else {}
        return scope.handle(job, {k: v for k, v in params.items() if v})

    # -- status ------------------------------------------------------------------
    def _status(self, client: Any, handle: JobHandle, *, with_run: bool = True) -> JobStatus:
        return read_status(client, handle, with_run=with_run)

    # The tuning code reads a sweep, and its status, with these.
    _job = staticmethod(find_job)
    _status_of = staticmethod(job_status)

    @follows_rehearsal
    def status(self, handle: JobHandle) -> JobStatus:
        return self._status(self._for_handle(handle), handle)

    @follows_rehearsal
    def fetch_run_files(self, handle: JobHandle) -> Path:
        """metrics.jsonl and summary.json from the job's ``metrics`` output folder
        (the trainer's ``--output-dir ${{outputs.metrics}}``)."""
        from cloudgd.report.runfiles import RUN_FILES, NoMetricsError, clear_run_files

        dest = fetched_dir(handle)
        clear_run_files(dest)
        uri, found = self._for_handle(handle).download_output(
            handle.job, "metrics", RUN_FILES, dest
        )
        if not found:
            raise NoMetricsError(
                f"{handle.job}: no metrics yet (nothing in {uri})",
                hint=f"follow the job with: cloudgd logs --follow '{handle}'",
            )
        return dest

    @follows_rehearsal
    def download(
        self,
        handle: JobHandle,
        dest: Path,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> list[Path]:
        """The job's ``model`` and ``metrics`` output folders into ``dest/model`` and
        ``dest/output`` (the trainer's --model-dir and --output-dir)."""
        from cloudgd.download import check_free

        client = self._for_handle(handle)
        check_free(dest)
        written: list[Path] = []
        for output, part in (("model", "model"), ("metrics", "output")):
            _uri, copied = client.download_output_tree(handle.job, output, dest / part)
            for relative, path in copied:
                written.append(path)
                if progress is not None:
                    progress(f"{part}/{relative}", path.stat().st_size)
        if not written:
            raise ProviderError(
                f"{handle.job}: nothing to download yet (its model and metrics outputs are empty)",
                hint=f"the trainer writes them as it runs; see cloudgd status '{handle}'",
            )
        return written

    # -- submit ------------------------------------------------------------------
    def _prepare_compute(self, client: Any, extra: dict[str, Any]) -> None:
        request = extra["request"]
        if extra.get("apply"):
            client.create_or_update_compute(request)
            return
        name = request["name"]
        found = client.get_compute(name)
        hint = (
            "create it (terraform/modules/azure-ml), name another with providers.azure.compute, "
            "or let cloudgd manage it with providers.azure.manage_compute: true"
        )
        if found is None:
            raise ProviderError(f"Azure ML compute cluster {name} does not exist", hint=hint)
        problems = []
        if found.size and found.size.lower() != request["size"].lower():
            problems.append(f"its VM size is {found.size}, the job needs {request['size']}")
        if found.max_instances is not None and found.max_instances < request["max_instances"]:
            problems.append(
                f"it scales to {found.max_instances} nodes, the job needs "
                f"{request['max_instances']}"
            )
        if found.tier and _tier(found.tier) != _tier(request["tier"]):
            problems.append(f"its tier is {found.tier}, the job needs {request['tier']}")
        if problems:
            raise ProviderError(
                f"Azure ML compute cluster {name} does not fit: {'; '.join(problems)}", hint=hint
            )

    rehearsal_data_prefixes: ClassVar[tuple[str, ...]] = (DATASTORE_PREFIX,)

    def rehearsal_inputs(self, plan: Plan, dest: Path) -> dict[str, str]:
        """``--run-local`` after :meth:`submit` (which checked the inputs exist): each
        datastore input's folder copied from the fake's blob store to ``dest/<channel>``,
        what ``${{inputs.<channel>}}`` holds; channel -> local path."""
        scope = WorkspaceScope.of_handle(JobHandle.parse(plan.handle))
        client = self._connect(scope, "fake", self._fake_endpoint(), AzureOptions().max_retries)
        return download_inputs(client, plan.summary.get("inputs") or {}, dest)

    def rehearse(
        self, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext, local: Provider
    ) -> tuple[JobStatus, Plan]:
        """A script job rehearses what Azure ML runs: the rendered ``command``, substituted,
        from the uploaded code snapshot (:mod:`providers.azure.command_rehearsal`); the
        trainer, the local emulation."""
        if spec.script is None:
            return super().rehearse(cloud_plan, spec, ctx, local)
        from providers.azure.command_rehearsal import rehearsal_plan

        submitted = self.submit(cloud_plan)
        return submitted, rehearsal_plan(self, cloud_plan, spec, ctx, local)

    def rehearsal_trial_planner(self, tuning_plan: Plan, ctx: RenderContext) -> TrialPlanner | None:
        """A script sweep's trials rehearse like its jobs: the trial command, with the
        trial's values substituted, from the uploaded snapshot."""
        from providers.azure.command_rehearsal import trial_planner

        return trial_planner(self, tuning_plan, ctx)

    def submit(self, plan: Plan) -> JobStatus:
        planned = JobHandle.parse(plan.handle)
        scope = WorkspaceScope.of_handle(planned)
        if self.backend == "cloud" and scope.is_rehearsal:
            raise SpecError(
                "providers.azure.subscription_id/resource_group/workspace: the plan was made "
                "for a rehearsal workspace",
                hint="set the workspace (terraform outputs) and plan again",
            )
        endpoint = self._fake_endpoint() if self.backend == "fake" else None
        retries = int(plan.summary.get("max_retries", AzureOptions().max_retries))
        client = self._connect(scope, self.backend, endpoint, retries)
        handle = self._handle(scope, plan.job_name, endpoint)
        if client.get_job(plan.job_name) is not None:  # same plan, same name: attach to it
            return self._status(client, handle)
        if endpoint:  # a rehearsal: its inputs must be in the fake store, as in the cloud
            script = "script" in plan.summary  # a script job's inputs are script.inputs
            check_inputs(client, plan.summary.get("inputs") or {}, endpoint, script=script)
        for extra in plan.extra_requests:
            if extra.get("operation") == COMPUTE_OPERATION:
                self._prepare_compute(client, extra)
        for upload in plan.uploads:
            name, version = code_asset.name_and_version(upload.destination)
            folder = code_asset.unpacked_bundle(Path(upload.source), upload.sha256)
            client.ensure_code(name, version, folder)
        try:
            client.create_job(plan.request)
        except ProviderError:
            if client.get_job(plan.job_name) is None:  # a racing submit may have won
                raise
        return self._status(client, handle, with_run=False)

    # -- logs and cancel -----------------------------------------------------------
    @follows_rehearsal
    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """The job's log files (:func:`providers.azure.logs.follow_logs`)."""
        client = self._for_handle(handle)
        yield from follow_logs(client, handle, follow=follow, poll_seconds=self.poll_seconds)

    @follows_rehearsal
    def cancel(self, handle: JobHandle) -> JobStatus:
        """Cancel the job; one that already ended (or is stopping) is returned as it is."""
        client = self._for_handle(handle)
        current = self._status(client, handle, with_run=False)
        if current.state.terminal or current.state == JobState.STOPPING:
            return current  # cancelling an ended job is a no-op
        try:
            client.cancel_job(handle.job)
        except ProviderError:
            current = self._status(client, handle, with_run=False)
            if not current.state.terminal:
                raise
            return current
        return self._status(client, handle, with_run=False)

    def upload_data(self, path: Path, uri: str) -> list[str]:
        """Put a local file or directory at an azureml://datastores/... URI (the fake's blob
        store with --backend fake), in the workspace ``list`` would look in."""
        from providers.azure.inputs import upload_path

        _, client = self._default_client()
        return upload_path(client, path, uri)

    # -- list ----------------------------------------------------------------------
    def _default_client(self) -> tuple[Any, Any]:
        """(scope, client) of the workspace named by the provider, the user config or the
        environment (a rehearsal's placeholder workspace on the fake)."""
        scope = (
            self.scope
            or _scope_from_settings(self.user_settings)
            or _scope_from_env(rehearsal=self.backend == "fake")
        )
        endpoint = self._fake_endpoint() if self.backend == "fake" else None
        return scope, self._connect(scope, self.backend, endpoint, AzureOptions().max_retries)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        scope, client = self._default_client()
        endpoint = self._fake_endpoint() if self.backend == "fake" else None
        found = []
        for job in client.list_jobs(LIST_TAG):
            if prefix and not job.name.startswith(prefix):
                continue
            handle = self._handle(scope, job.name, endpoint)
            sweep = job.kind == "sweep"
            found.append(
                JobStatus(
                    # a sweep's handle follows it as a study (trials, best trial)
                    handle=str(as_tuning(handle) if sweep else handle),
                    name=job.name,
                    state=job_state(job.status),
                    raw_state=job.status,
                    created_at=job.created_at,
                    console_url=job.studio_url,
                    extra={"kind": "tuning"} if sweep else {},
                )
            )
        return sorted(found, key=lambda s: (s.created_at is not None, s.created_at), reverse=True)

    # -- tuning (CloudTuning): sweep jobs; tuning.py renders, tuning_jobs.py the rest ----
    def plan_tuning(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        from providers.azure.tuning import render_tuning

        return render_tuning(spec, ctx, rehearsal=self.backend == "fake")

    @classmethod
    def trial_handle(cls, study: JobHandle, name: str) -> str:
        """A trial is a child job of the sweep, in the same workspace."""
        from cloudgd.tuning.trials import sibling_trial_handle

        return sibling_trial_handle(study, name)


def _tier(text: str) -> str:
    """'LowPriority', 'low_priority' → 'lowpriority'."""
    return "".join(c for c in text.lower() if c.isalpha())


def _scope_from_settings(settings: dict[str, Any]) -> WorkspaceScope | None:
    """The workspace the user config names, when it names all three parts."""
    parts = [settings.get(key) for key in ("subscription_id", "resource_group", "workspace")]
    if not all(isinstance(part, str) and part for part in parts):
        return None
    sub, rg, ws = (str(part) for part in parts)
    return WorkspaceScope(sub, rg, ws)


def _scope_from_env(*, rehearsal: bool) -> WorkspaceScope:
    values = [os.environ.get(name) for name in WORKSPACE_ENV]
    if all(values):
        sub, rg, ws = (str(v) for v in values)
        return WorkspaceScope(sub, rg, ws)
    if rehearsal:
        return WorkspaceScope(REHEARSAL_SUBSCRIPTION, REHEARSAL_RESOURCE_GROUP, REHEARSAL_WORKSPACE)
    raise SpecError(
        f"{', '.join(WORKSPACE_ENV)}: set them to list the jobs of an Azure ML workspace",
        hint="or use `cloudgd status <handle>` for one job",
    )

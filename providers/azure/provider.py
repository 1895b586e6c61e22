"""AzureProvider: Azure ML command jobs, on the cloud or on the local fake service.

``plan`` renders (pure, :mod:`providers.azure.render`); ``submit`` sends the plan:
the compute cluster (created when ``manage_compute``, else checked), the code
upload, then the job document, unchanged. Status, logs and cancel work from the
handle alone: ``azure://<sub>/<rg>/<ws>/<job>[?backend=fake&endpoint=...]``, and
with ``run=<dir>`` (a ``--run-local`` rehearsal) they follow the local run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from cloudgd.errors import JobNotFoundError, ProviderError, SpecError
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.handle import as_tuning
from providers.azure import code_asset
from providers.azure.inputs import DATASTORE_PREFIX, check_inputs, download_inputs
from providers.azure.options import AzureOptions
from providers.azure.render import COMPUTE_OPERATION, render_plan
from providers.azure.scope import (
    REHEARSAL_RESOURCE_GROUP,
    REHEARSAL_SUBSCRIPTION,
    REHEARSAL_WORKSPACE,
    WorkspaceScope,
)
from providers.azure.states import job_state
from providers.azure.views import JobView, RunView
from providers.base import Capability, Provider, fetched_dir, rehearsal_run

ENDPOINT_ENV = "CLOUDGD_AZURE_ENDPOINT"
FAKE_SERVER = ("azure-fake", "providers.azure.fake")
LIST_TAG = "cloudgd:spec-hash"
# Workspace for `list` when no handle names one (the names MLClient.from_config users know).
WORKSPACE_ENV = ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME")


class AzureProvider(Provider):
    """Azure ML (SDK v2) command jobs; ``--backend fake`` rehearses against a local service."""

    name: ClassVar[str] = "azure"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CPU,
            Capability.GPU,
            Capability.MULTI_NODE,
            Capability.SPOT,
            Capability.AUTOSCALE,
            Capability.LOGS,
            Capability.CANCEL,
        }
    )
    options_model: ClassVar[type[AzureOptions]] = AzureOptions
    backends: ClassVar[tuple[str, ...]] = ("cloud", "fake")

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
        from cloudgd import servers

        return servers.ensure(*FAKE_SERVER)

    def _connect(
        self, scope: WorkspaceScope, backend: str, endpoint: str | None, retries: int
    ) -> Any:
        if self.client_factory is not None:
            return self.client_factory(
                scope, backend=backend, endpoint=endpoint, max_retries=retries
            )
        from providers.azure.client import connect

        return connect(scope, backend=backend, endpoint=endpoint, max_retries=retries)

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
        job = self._job(client, handle)
        return self._status_of(job, client.run(handle.job) if with_run else None, handle)

    @staticmethod
    def _job(client: Any, handle: JobHandle) -> JobView:
        job: JobView | None = client.get_job(handle.job)
        if job is None:
            raise JobNotFoundError(
                f"Azure ML has no job {handle.job} in workspace {handle.parts[2]}",
                hint="check the handle; `cloudgd list --provider azure` shows cloudgd's jobs",
            )
        return job

    @staticmethod
    def _status_of(job: JobView, run: RunView | None, handle: JobHandle) -> JobStatus:
        """The job (and its run-history details, when read) as a JobStatus."""
        return JobStatus(
            handle=str(handle),
            name=job.name,
            state=job_state(job.status),
            raw_state=job.status,
            message=run.error if run else None,
            created_at=job.created_at,
            started_at=run.started_at if run else None,
            ended_at=run.ended_at if run else None,
            console_url=job.studio_url,
            extra={"compute": job.compute} if job.compute else {},
        )

    def _local(self) -> Provider:
        from cloudgd import registry

        return registry.create("local", runs_dir=self.runs_dir)

    def _follow_local(self, handle: JobHandle, status: JobStatus) -> JobStatus:
        return status.model_copy(
            update={"handle": str(handle), "extra": {**status.extra, "run": status.handle}}
        )

    def status(self, handle: JobHandle) -> JobStatus:
        local = rehearsal_run(handle)
        if local is not None:
            return self._follow_local(handle, self._local().status(local))
        return self._status(self._for_handle(handle), handle)

    def fetch_run_files(self, handle: JobHandle) -> Path:
        """metrics.jsonl and summary.json from the job's ``metrics`` output folder
        (the trainer's ``--output-dir ${{outputs.metrics}}``)."""
        if rehearsal_run(handle) is not None:
            return super().fetch_run_files(handle)
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

    def download(
        self,
        handle: JobHandle,
        dest: Path,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> list[Path]:
        """The job's ``model`` and ``metrics`` output folders into ``dest/model`` and
        ``dest/output`` (the trainer's --model-dir and --output-dir)."""
        if rehearsal_run(handle) is not None:
            return super().download(handle, dest, progress=progress)
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

    # what rehearsal_inputs can copy from the fake store (others: the local planner refuses)
    rehearsal_data_prefixes: ClassVar[tuple[str, ...]] = (DATASTORE_PREFIX,)

    def rehearsal_inputs(self, plan: Plan, dest: Path) -> dict[str, str]:
        """``--run-local`` after :meth:`submit` (which checked the inputs exist): each
        datastore input's folder copied from the fake's blob store to ``dest/<channel>``,
        what ``${{inputs.<channel>}}`` holds; channel -> local path."""
        scope = WorkspaceScope.of_handle(JobHandle.parse(plan.handle))
        client = self._connect(scope, "fake", self._fake_endpoint(), AzureOptions().max_retries)
        return download_inputs(client, plan.summary.get("inputs") or {}, dest)

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
    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        local = rehearsal_run(handle)
        if local is not None:
            yield from self._local().logs(local, follow=follow)
            return
        client = self._for_handle(handle)
        if client.get_job(handle.job) is None:
            raise JobNotFoundError(f"Azure ML has no job {handle.job}")
        offsets: dict[str, int] = {}
        while True:
            run = client.run(handle.job)
            files: dict[str, str] = run.log_files if run else {}
            if run is not None and run.status:
                raw = run.status
            else:  # no run history yet: the job itself says whether it ended
                current = client.get_job(handle.job)
                raw = current.status if current else None
            ended = _ended(raw)
            for name in sorted(files):
                text = client.read_text(files[name])
                seen = offsets.get(name, 0)
                if len(text) > seen:
                    # hold back a partial last line until it is complete (or the job ended)
                    complete = text if ended else text[: text.rfind("\n") + 1]
                    yield from complete[seen:].splitlines()
                    offsets[name] = max(seen, len(complete))
            if not follow or ended:
                return
            time.sleep(self.poll_seconds)

    def cancel(self, handle: JobHandle) -> JobStatus:
        local = rehearsal_run(handle)
        if local is not None:
            stopped = self._follow_local(handle, self._local().cancel(local))
            try:
                self._cancel_remote(handle)
            except ProviderError as exc:  # the local run is what trained; it is stopped
                extra = {**stopped.extra, "remote_cancel": exc.message}
                return stopped.model_copy(update={"extra": extra})
            return stopped
        return self._cancel_remote(handle)

    def _cancel_remote(self, handle: JobHandle) -> JobStatus:
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


def _tier(text: str) -> str:
    """'LowPriority', 'low_priority' → 'lowpriority'."""
    return "".join(c for c in text.lower() if c.isalpha())


def _ended(raw: str | None) -> bool:
    return job_state(raw).terminal


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

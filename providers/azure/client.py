"""The only module that imports the Azure SDKs (``azure-ai-ml``, ``azure-identity``), lazily.

:class:`AzureClient` wraps one ``MLClient`` and speaks cloudgd's language back:
plain dataclasses in, :class:`JobView`/:class:`RunView` out, and every SDK
exception turned into a one-line cloudgd error. Retries are azure-core's own
``RetryPolicy`` (exponential back-off on 408/429/5xx and connection errors),
sized by ``providers.azure.max_retries``.

Two ways to reach Azure ML:

- the cloud: ``DefaultAzureCredential`` (environment, workload or managed
  identity, ``az login``, …);
- a rehearsal: what differs (a custom cloud's endpoints, the one certificate to
  trust, a static token, where blobs live) comes in a
  :class:`~providers.azure.connection.Connection`, which the rehearsal backend makes
  (:mod:`providers.azure.rehearsal.connection`); this module imports no fake.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cloudgd.errors import CredentialsError, JobNotFoundError, ProviderError, SpecError
from providers.azure import views
from providers.azure.connection import CLOUD, Connection
from providers.azure.download import copy_blobs
from providers.azure.scope import WorkspaceScope
from providers.azure.views import ComputeView, JobView, RunView, TrialView, first_line

T = TypeVar("T")
CURRENT_CLOUD_ENV = "AZUREML_CURRENT_CLOUD"
_CREDENTIAL_HINT = (
    "sign in with `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET "
    "(or run where a managed identity is available)"
)


class _StaticToken:
    """A credential that always presents ``token`` (a rehearsal service checks none)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


@contextmanager
def _sdk_quiet() -> Iterator[None]:
    """azure-ai-ml warns about marshmallow and experimental classes on import and load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class AzureClient:
    """One workspace, one MLClient; SDK objects never leave this class."""

    def __init__(
        self,
        scope: WorkspaceScope,
        *,
        connection: Connection = CLOUD,
        max_retries: int = 5,
        credential: Any = None,
    ) -> None:
        with _sdk_quiet():
            from azure.ai.ml import MLClient
        # azure-ai-ml hangs an INFO stderr handler on its logger ("Proceeding with no
        # tenant id ..."); cloudgd prints its own progress.
        logging.getLogger("azure.ai.ml").setLevel(logging.WARNING)

        self.scope = scope
        self.connection = connection
        kwargs: dict[str, Any] = {
            "enable_telemetry": False,
            "show_progress": False,
            "retry_total": max_retries,
        }
        if connection.verify:
            kwargs["connection_verify"] = connection.verify
        if connection.cloud:
            kwargs["cloud"] = connection.cloud
            kwargs["cloud_metadata"] = dict(connection.cloud_metadata or {})
        if credential is None and connection.static_token:
            credential = _StaticToken(connection.static_token)
        elif credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        # MLClient records its cloud in os.environ; a custom cloud must not become the
        # default of a later real client in this process.
        previous = os.environ.get(CURRENT_CLOUD_ENV)
        try:
            with _sdk_quiet():
                self.ml = MLClient(
                    credential,
                    scope.subscription_id,
                    scope.resource_group,
                    scope.workspace,
                    **kwargs,
                )
        finally:
            if connection.is_custom_cloud:
                if previous is None:
                    os.environ.pop(CURRENT_CLOUD_ENV, None)
                else:
                    os.environ[CURRENT_CLOUD_ENV] = previous

    # -- error translation ---------------------------------------------------
    def _translate(self, what: str, exc: Exception) -> Exception:
        """The cloudgd error for an SDK exception (the exception itself if unexpected)."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
        )
        from marshmallow.exceptions import ValidationError as SchemaError

        if isinstance(exc, ClientAuthenticationError):
            return CredentialsError(
                f"no usable Azure credentials for {what}: {first_line(exc.message)}",
                hint=_CREDENTIAL_HINT,
            )
        if isinstance(exc, HttpResponseError):
            code = getattr(exc.error, "code", None) or exc.status_code
            message = getattr(exc.error, "message", None) or exc.message
            return ProviderError(
                f"Azure ML refused {what}: {code}: {first_line(message)}",
                hint=f"workspace {self.scope.arm_id}",
            )
        if isinstance(exc, ServiceRequestError):
            return ProviderError(
                f"cannot reach Azure ML for {what}: {first_line(str(exc))}",
                hint="check the network, or the --endpoint of a fake backend",
            )
        if isinstance(exc, SchemaError):
            return SpecError(
                f"azure-ai-ml rejected the rendered request for {what}: {first_line(str(exc))}",
                hint="run `cloudgd plan` to see the request; this is a cloudgd bug if the spec "
                "validated",
            )
        return exc

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call; expected failures become cloudgd errors with one line."""
        try:
            with _sdk_quiet():
                return fn()
        except Exception as exc:
            translated = self._translate(what, exc)
            if translated is exc:
                raise
            raise translated from None

    def find(self, what: str, fn: Callable[[], T]) -> T | None:
        """Like :meth:`call`, but a missing resource (HTTP 404) gives None."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with _sdk_quiet():
                return fn()
        except ResourceNotFoundError:
            return None
        except Exception as exc:
            translated = self._translate(what, exc)
            if translated is exc:
                raise
            raise translated from None

    # -- jobs ----------------------------------------------------------------
    _view = staticmethod(views.job_view)

    def create_job(self, document: dict[str, Any]) -> JobView:
        """``jobs.create_or_update`` of the plan's job document, unchanged."""
        from azure.ai.ml import load_job

        def create() -> Any:
            job = load_job(io.StringIO(yaml.safe_dump(document, sort_keys=True)))
            return self.ml.jobs.create_or_update(job)

        return self._view(self.call(f"creating job {document['name']}", create))

    def get_job(self, name: str) -> JobView | None:
        job = self.find(f"job {name}", lambda: self.ml.jobs.get(name))
        return None if job is None else self._view(job)

    def cancel_job(self, name: str) -> None:
        self.call(f"cancelling job {name}", lambda: self.ml.jobs.begin_cancel(name).result())

    def list_jobs(self, tag: str) -> list[JobView]:
        """Jobs carrying tag key ``tag`` (the service filters by key)."""
        return self.call(
            "listing jobs", lambda: [self._view(j) for j in self.ml.jobs.list(tag=tag) if j]
        )

    def list_trials(self, sweep: str) -> list[TrialView]:
        """The sweep's child jobs (its trials) from run history, in trial order."""

        def trials() -> list[TrialView]:
            found = [
                TrialView(
                    name=child.name,
                    status=child.status,
                    created_at=getattr(child.creation_context, "created_at", None),
                )
                for child in self.ml.jobs.list(parent_job_name=sweep)
                if child is not None
            ]
            return sorted(found, key=lambda t: views.trial_number(t.name))

        return self.call(f"listing the trials of {sweep}", trials)

    def run(self, name: str) -> RunView | None:
        """Run history of the job: times, error and log-file URLs (None until it has one)."""
        details = self.find(
            f"run details of {name}",
            lambda: self.ml.jobs._runs_operations.get_run_details(name),
        )
        return None if details is None else views.run_view(details)

    def read_text(self, url: str) -> str:
        """A log file's text through the SDK's own request pipeline (SAS URLs, no token)."""
        from azure.ai.ml._utils.utils import download_text_from_url

        return self.call(
            "reading a log file",
            lambda: download_text_from_url(url, self.ml.jobs._requests_pipeline, timeout=30),
        )

    def _output_folder(self, job_name: str, output_name: str) -> tuple[str, Any, str]:
        """(the output's URI, a ContainerClient, the folder's path in the container).

        An output submitted without a path lands at Azure ML's default,
        ``azureml://datastores/workspaceblobstore/paths/azureml/<job>/<output>/``.
        """
        job = self.find(f"job {job_name}", lambda: self.ml.jobs.get(job_name))
        if job is None:
            raise JobNotFoundError(f"Azure ML has no job {job_name} in {self.scope.workspace}")
        output = (job.outputs or {}).get(output_name)
        uri = getattr(output, "path", None) or (
            f"azureml://datastores/workspaceblobstore/paths/azureml/{job_name}/{output_name}/"
        )
        container, path = self._container(uri)
        return uri, container, path.rstrip("/") + "/"

    def download_output(
        self, job_name: str, output_name: str, names: tuple[str, ...], dest: Path
    ) -> tuple[str, list[str]]:
        """Copy ``names`` from the job's named output folder to ``dest``.

        Returns (the output's URI, the names copied).
        """
        uri, container, folder = self._output_folder(job_name, output_name)
        found = []
        for name in names:
            blob = container.get_blob_client(folder + name)

            def read(blob: Any = blob) -> bytes:
                return bytes(blob.download_blob().readall())

            data = self.find(f"downloading {uri}{name}", read)
            if data is None:
                continue
            (dest / name).write_bytes(data)
            found.append(name)
        return uri, found

    def download_output_tree(
        self, job_name: str, output_name: str, dest: Path
    ) -> tuple[str, list[tuple[str, Path]]]:
        """Copy everything in the job's named output folder into ``dest``, keeping relative
        names: (the output's URI, (relative name, file) for each). A name that would land
        outside ``dest`` is skipped."""
        uri, container, folder = self._output_folder(job_name, output_name)
        return uri, self._copy_folder(uri, container, folder, dest)

    def _copy_folder(
        self, uri: str, container: Any, folder: str, dest: Path
    ) -> list[tuple[str, Path]]:
        """Copy every blob under ``folder`` (``""``: the whole container) into ``dest`` by
        its name relative to the folder; (relative name, file) for each. A name that would
        land outside ``dest`` (``..``, an absolute path) is skipped."""
        names = self.call(
            f"listing {uri}",
            lambda: [b.name for b in container.list_blobs(name_starts_with=folder or None)],
        )

        def read(name: str) -> bytes:
            blob = container.get_blob_client(name)
            what = f"downloading {uri}{name[len(folder) :]}"
            return self.call(what, lambda: bytes(blob.download_blob().readall()))

        return copy_blobs(names, folder, dest, read)

    def _container(self, uri: str) -> tuple[Any, str]:
        """The blob container behind an ``azureml://datastores/...`` URI, and the path."""
        from azure.ai.ml._artifacts._artifact_utilities import get_datastore_info
        from azure.ai.ml._utils._storage_utils import AzureMLDatastorePathUri
        from azure.storage.blob import ContainerClient

        parsed = AzureMLDatastorePathUri(uri)
        info = self.call(
            f"reading datastore {parsed.datastore}",
            lambda: get_datastore_info(self.ml.datastores, parsed.datastore),
        )
        if self.connection.blob_account_url:
            info.update(
                account_url=self.connection.blob_account_url,
                credential=self.connection.blob_credential,
            )
        container = ContainerClient(
            account_url=info["account_url"],
            container_name=info["container_name"],
            credential=info["credential"],
        )
        return container, parsed.path

    def input_exists(self, uri: str) -> bool:
        """Whether a datastore URI names a blob, or a folder with blobs under it."""
        container, path = self._container(uri)

        def any_blob() -> bool:
            return any(True for _ in container.list_blobs(name_starts_with=path.rstrip("/")))

        return bool(self.find(f"looking up {uri}", any_blob))

    def download_input(self, uri: str, dest: Path) -> list[Path]:
        """Copy every blob under a datastore folder URI into ``dest``, keeping names relative
        to the folder (what a ``download``-mode input holds); the files written. A name
        that would land outside ``dest`` is skipped."""
        container, path = self._container(uri)
        folder = path.rstrip("/") + "/" if path.strip("/") else ""
        return [target for _, target in self._copy_folder(uri, container, folder, dest)]

    def upload_input(self, source: Path, uri: str) -> None:
        """Copy a local file to a datastore URI (a folder URI keeps the file's name)."""
        container, path = self._container(uri)
        name = path.rstrip("/") + "/" + source.name if uri.endswith("/") else path
        blob = container.get_blob_client(name)

        def upload() -> Any:  # a file object: sent in blocks, never held in memory whole
            with source.open("rb") as data:
                return blob.upload_blob(data, overwrite=True)

        self.call(f"uploading {uri}", upload)

    # -- compute and code ------------------------------------------------------
    def get_compute(self, name: str) -> ComputeView | None:
        found = self.find(f"compute {name}", lambda: self.ml.compute.get(name))
        return None if found is None else views.compute_view(found)

    def create_or_update_compute(self, document: dict[str, Any]) -> None:
        from azure.ai.ml import load_compute

        def create() -> Any:
            compute = load_compute(io.StringIO(yaml.safe_dump(document, sort_keys=True)))
            return self.ml.compute.begin_create_or_update(compute).result()

        self.call(f"creating compute {document['name']}", create)

    def ensure_code(self, name: str, version: str, directory: Path) -> str:
        """Upload ``directory`` as code asset ``name:version`` unless it is there; its ARM ID.

        The SDK skips the upload when a version with the same content hash exists.
        """
        from azure.ai.ml.entities._assets._artifacts.code import Code

        def upload() -> Any:
            # The blob helper prints a colour reset to stderr after every upload.
            with contextlib.redirect_stderr(io.StringIO()):
                return self.ml._code.create_or_update(
                    Code(name=name, version=version, path=str(directory))
                )

        code = self.call(f"uploading code {name}:{version}", upload)
        return str(code.id)

    def download_code(self, name: str, version: str, dest: Path) -> list[Path]:
        """Copy code asset ``name:version``'s files (the folder Azure ML copies into a job's
        working directory) into ``dest``; the files written."""
        from azure.storage.blob import ContainerClient

        code = self.call(f"code {name}:{version}", lambda: self.ml._code.get(name, version))
        url = str(code.path)
        account = (self.connection.blob_account_url or "").rstrip("/")
        # <account URL>/<container>/<folder>; only the account the connection trusts is read
        container_name, _, folder = url.removeprefix(account + "/").partition("/")
        if not account or not url.startswith(account + "/") or not folder.strip("/"):
            raise ProviderError(f"code {name}:{version}: cannot read its files from {url}")
        container = ContainerClient(
            account_url=account,
            container_name=container_name,
            credential=self.connection.blob_credential,
        )
        folder = folder.rstrip("/") + "/"
        return [target for _, target in self._copy_folder(url, container, folder, dest)]


def connect(
    scope: WorkspaceScope, *, connection: Connection = CLOUD, max_retries: int = 5
) -> AzureClient:
    """The default client factory (tests inject their own through the provider)."""
    return AzureClient(scope, connection=connection, max_retries=max_retries)

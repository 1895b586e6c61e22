"""The only module that imports Google's SDKs (lazily): Vertex AI, Cloud Storage, Logging.

:class:`GcpApi` wraps the three clients behind plain-dict methods (its Cloud Storage
calls are in ``client_storage.py``, which is handed the SDK client from here), so the
provider never sees an SDK type, and translates every SDK failure into a cloudgd error with
one line naming what to fix. Cloud: Application Default Credentials and the
regional ``<location>-aiplatform.googleapis.com`` endpoint. Fake: anonymous
credentials and the fake's ``http://127.0.0.1:PORT`` (the scheme is required, or the
REST transport speaks https).

Retries: the JobService methods carry no default retry, so every call passes the
library's ``Retry`` for UNAVAILABLE (HTTP 503) and RESOURCE_EXHAUSTED (HTTP 429,
``TooManyRequests`` over REST); Cloud Storage uploads use its own DEFAULT_RETRY.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from cloudgd.errors import CredentialsError, JobNotFoundError, MissingExtraError, ProviderError
from providers.gcp.client_storage import StorageCalls

T = TypeVar("T")
CALL_TIMEOUT = 60.0
RETRY_DEADLINE = 120.0
# A rehearsal fake runs on this machine: one that does not answer within seconds has
# stopped, and two minutes of back-off would only delay the error (or a local cancel).
FAKE_RETRY_DEADLINE = 5.0
_ADC_HINT = (
    "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS "
    "to a service-account key file"
)


@dataclass(frozen=True)
class LogLine:
    """One Cloud Logging entry, reduced to what `cloudgd logs` prints."""

    timestamp: str
    insert_id: str
    task: str | None
    text: str
    trial: str | None = None  # a tuning trial's ID (Vertex labels its entries with it)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def translated(
    what: str,
    *,
    endpoint: str,
    not_found: str | None = None,
    missing: type[ProviderError] = JobNotFoundError,
) -> Iterator[None]:
    """Turn SDK and transport errors raised inside into cloudgd errors (``missing``
    with the ``not_found`` line for a 404)."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc
    from requests import exceptions as rexc

    try:
        yield
    except gexc.NotFound as exc:
        raise missing(not_found or f"{what}: {_first_line(exc)}") from None
    except (gexc.Unauthenticated, gexc.PermissionDenied, auth_exc.RefreshError) as exc:
        raise CredentialsError(
            f"{what}: Google Cloud refused the credentials: {_first_line(exc)}", hint=_ADC_HINT
        ) from None
    except gexc.RetryError as exc:
        cause = exc.cause or exc
        raise ProviderError(
            f"{what}: still failing after retries: {_first_line(cause)}",
            hint="the service is overloaded or unavailable; try again later",
        ) from None
    except gexc.GoogleAPICallError as exc:
        raise ProviderError(f"{what}: {_first_line(exc)}") from None
    except (rexc.ConnectionError, rexc.Timeout, auth_exc.TransportError) as exc:
        raise ProviderError(
            f"{what}: cannot reach {endpoint}: {type(exc).__name__}",
            hint="check the network, or the fake server with `cloudgd status`",
        ) from None


def _retry(idempotent: bool = False, deadline: float = RETRY_DEADLINE) -> Any:
    """Retry 503 and 429; reads and cancels also retry 500s and dropped connections.

    A create whose connection dropped may have created the job (Vertex assigns the
    ID), so only calls that are safe to repeat retry those.
    """
    import requests
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry

    transient: tuple[type[Exception], ...] = (gexc.ServiceUnavailable, gexc.TooManyRequests)
    if idempotent:
        transient += (gexc.InternalServerError, requests.exceptions.ConnectionError)
    return gretry.Retry(
        predicate=gretry.if_exception_type(*transient),
        initial=0.2,
        maximum=5.0,
        multiplier=2.0,
        timeout=deadline,
    )


def _import_sdks() -> None:
    try:
        import google.cloud.aiplatform_v1
        import google.cloud.storage  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            f"provider 'gcp' needs {exc.name}, which is not installed",
            hint="pip install 'cloudgd[gcp]'",
        ) from None


def cloud_credentials() -> tuple[Any, str | None]:
    """Application Default Credentials and their project; CredentialsError when absent."""
    import google.auth
    from google.auth import exceptions as auth_exc

    try:
        credentials, project = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
    except auth_exc.DefaultCredentialsError:
        raise CredentialsError(
            "no Google Cloud credentials found (Application Default Credentials)", hint=_ADC_HINT
        ) from None
    return credentials, project


class GcpApi(StorageCalls):
    """Vertex AI jobs, the staging bucket (:class:`StorageCalls`) and job logs, as plain
    dicts."""

    def __init__(self, *, location: str, endpoint: str | None, project: str | None = None):
        """``endpoint`` None means the real cloud; an ``http://`` URL means the fake."""
        _import_sdks()
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import aiplatform_v1

        self.location = location
        if endpoint:
            self.credentials: Any = AnonymousCredentials()
            self.default_project = project
            self.endpoint = endpoint
            options: dict[str, str] | None = {"api_endpoint": endpoint}
        else:
            self.credentials, adc_project = cloud_credentials()
            self.default_project = project or adc_project
            self.endpoint = f"https://{location}-aiplatform.googleapis.com"
            options = None
        self.fake = bool(endpoint)
        self.retry_deadline = FAKE_RETRY_DEADLINE if endpoint else RETRY_DEADLINE
        self.jobs = aiplatform_v1.JobServiceClient(
            transport="rest",
            credentials=self.credentials,
            client_options={"api_endpoint": self.endpoint},
        )
        self._options = options
        self._aip = aiplatform_v1

    def _call(
        self, what: str, fn: Callable[..., T], /, *, idempotent: bool = False, **kwargs: Any
    ) -> T:
        with translated(what, endpoint=self.endpoint, not_found=kwargs.pop("not_found", None)):
            retry = _retry(idempotent, self.retry_deadline)
            return fn(**kwargs, retry=retry, timeout=CALL_TIMEOUT)

    @staticmethod
    def _as_dict(message: Any) -> dict[str, Any]:
        text = type(message).to_json(
            message, use_integers_for_enums=False, always_print_fields_with_no_presence=False
        )
        result: dict[str, Any] = json.loads(text)
        return result

    # -- Vertex AI custom jobs -------------------------------------------------
    def create_job(self, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        """CreateCustomJob with the rendered body, parsed strictly first."""
        from google.protobuf import json_format

        try:
            job = self._aip.CustomJob.from_json(json.dumps(body), ignore_unknown_fields=False)
        except json_format.ParseError as exc:
            raise ProviderError(
                f"the plan's customJob is not a valid Vertex AI CustomJob: {_first_line(exc)}",
                hint="re-run `cloudgd plan`; do not edit the rendered request by hand",
            ) from None
        created = self._call(
            "create the Vertex AI job", self.jobs.create_custom_job, parent=parent, custom_job=job
        )
        return self._as_dict(created)

    def get_job(self, name: str) -> dict[str, Any]:
        job = self._call(
            "read the Vertex AI job",
            self.jobs.get_custom_job,
            idempotent=True,
            name=name,
            not_found=f"no Vertex AI job {name}",
        )
        return self._as_dict(job)

    def list_jobs(self, parent: str, filter_text: str = "") -> list[dict[str, Any]]:
        request = self._aip.ListCustomJobsRequest(parent=parent, filter=filter_text, page_size=100)
        with translated("list Vertex AI jobs", endpoint=self.endpoint):
            pager = self.jobs.list_custom_jobs(
                request=request,
                retry=_retry(idempotent=True, deadline=self.retry_deadline),
                timeout=CALL_TIMEOUT,
            )
            return [self._as_dict(job) for job in pager]

    def cancel_job(self, name: str) -> None:
        self._call(
            "cancel the Vertex AI job",
            self.jobs.cancel_custom_job,
            idempotent=True,
            name=name,
            not_found=f"no Vertex AI job {name}",
        )

    # -- Vertex AI hyperparameter tuning jobs -----------------------------------
    def create_tuning_job(self, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        """CreateHyperparameterTuningJob with the rendered body, parsed strictly first."""
        from google.protobuf import json_format

        try:
            job = self._aip.HyperparameterTuningJob.from_json(
                json.dumps(body), ignore_unknown_fields=False
            )
        except json_format.ParseError as exc:
            raise ProviderError(
                "the plan's hyperparameterTuningJob is not a valid Vertex AI "
                f"HyperparameterTuningJob: {_first_line(exc)}",
                hint="re-run `cloudgd tune --dry-run`; do not edit the rendered request by hand",
            ) from None
        created = self._call(
            "create the Vertex AI tuning job",
            self.jobs.create_hyperparameter_tuning_job,
            parent=parent,
            hyperparameter_tuning_job=job,
        )
        return self._as_dict(created)

    def get_tuning_job(self, name: str) -> dict[str, Any]:
        job = self._call(
            "read the Vertex AI tuning job",
            self.jobs.get_hyperparameter_tuning_job,
            idempotent=True,
            name=name,
            not_found=f"no Vertex AI tuning job {name}",
        )
        return self._as_dict(job)

    def list_tuning_jobs(self, parent: str, filter_text: str = "") -> list[dict[str, Any]]:
        request = self._aip.ListHyperparameterTuningJobsRequest(
            parent=parent, filter=filter_text, page_size=100
        )
        with translated("list Vertex AI tuning jobs", endpoint=self.endpoint):
            pager = self.jobs.list_hyperparameter_tuning_jobs(
                request=request,
                retry=_retry(idempotent=True, deadline=self.retry_deadline),
                timeout=CALL_TIMEOUT,
            )
            return [self._as_dict(job) for job in pager]

    def cancel_tuning_job(self, name: str) -> None:
        self._call(
            "cancel the Vertex AI tuning job",
            self.jobs.cancel_hyperparameter_tuning_job,
            idempotent=True,
            name=name,
            not_found=f"no Vertex AI tuning job {name}",
        )

    # -- Cloud Storage: what StorageCalls asks of the client -------------------
    def _storage(self, project: str | None) -> Any:
        from google.cloud import storage

        return storage.Client(
            project=project or self.default_project,
            credentials=self.credentials,
            client_options=self._options,
        )

    def _translated(
        self,
        what: str,
        *,
        not_found: str | None = None,
        missing: type[ProviderError] = JobNotFoundError,
    ) -> AbstractContextManager[None]:
        return translated(what, endpoint=self.endpoint, not_found=not_found, missing=missing)

    # -- Cloud Logging ---------------------------------------------------------
    def log_lines(self, project: str, filter_text: str) -> list[LogLine]:
        """Entries matching ``filter_text``, oldest first; entries without text skipped."""
        from google.cloud import logging as cloud_logging

        client = cloud_logging.Client(
            project=project,
            credentials=self.credentials,
            client_options=self._options,
            _use_grpc=False,
        )
        lines = []
        with translated("read the job's logs", endpoint=self.endpoint):
            for entry in client.list_entries(
                filter_=filter_text, order_by=cloud_logging.ASCENDING, page_size=1000
            ):
                text = _entry_text(entry.payload)
                if text is None:
                    continue
                labels = (entry.resource.labels or {}) if entry.resource else {}
                lines.append(
                    LogLine(
                        timestamp=entry.timestamp.isoformat() if entry.timestamp else "",
                        insert_id=entry.insert_id or "",
                        task=labels.get("task_name"),
                        text=text,
                        trial=(entry.labels or {}).get("ml.googleapis.com/trial_id"),
                    )
                )
        return lines


def _entry_text(payload: Any) -> str | None:
    if isinstance(payload, str):
        return payload.rstrip("\n")
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return str(payload["message"]).rstrip("\n")
    return None


def make_api(*, location: str, endpoint: str | None, project: str | None = None) -> GcpApi:
    """The default client factory (tests inject their own through the provider)."""
    return GcpApi(location=location, endpoint=endpoint, project=project)

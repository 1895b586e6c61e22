"""Status, logs and cancel for tuning handles (``...?kind=tuning``), per provider.

:class:`TuningFollower` wraps the provider that owns the handle and answers for
the whole study, with per-trial status in ``JobStatus.extra['trials']``; the CLI's
``status``, ``logs``, ``wait`` and ``cancel`` use it without knowing about tuning.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from cloudgd.errors import UsageError
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.handle import study_of, trial_of
from providers.base import Provider


class TuningFollower(Provider):
    """Follows tuning jobs through the provider that created them."""

    name: ClassVar[str] = "tuning"
    options_model: ClassVar[Any] = None

    def __init__(self, inner: Provider) -> None:
        super().__init__(backend="cloud")
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.default_poll_seconds = inner.default_poll_seconds  # type: ignore[misc]

    def _unsupported(self, action: str) -> UsageError:
        return UsageError(
            f"{action} of {self.inner.name} tuning jobs is not supported by cloudgd yet",
            hint="use the cloud console, or `cloudgd tune --provider local` to study here",
        )

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        raise UsageError("plan a tuning job with `cloudgd tune FILE --dry-run`")

    def submit(self, plan: Plan) -> JobStatus:
        raise UsageError("submit a tuning job with `cloudgd tune FILE`")

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        return []

    def _trial(self, handle: JobHandle) -> str | None:
        trial = trial_of(handle)
        if trial is not None and self.inner.name != "gcp":
            raise UsageError(
                f"trial={trial}: only a Vertex AI study's trials are named so",
                hint="a trial of a local, SageMaker or Azure ML study is a job with its own "
                "handle; `cloudgd status` on the study lists them",
            )
        return trial

    def status(self, handle: JobHandle) -> JobStatus:
        trial = self._trial(handle)
        if trial is not None:
            from providers.gcp import tuning_jobs as gcp

            study = gcp.tuning_status(self.inner, study_of(handle))  # type: ignore[arg-type]
            return gcp.trial_status(study, handle, trial)
        if self.inner.name == "local":
            from providers.local import tuning as local

            return local.status(handle)
        if self.inner.name == "aws":
            from providers.aws import tuning as aws

            return aws.tuning_status(self.inner, handle)  # type: ignore[arg-type]
        if self.inner.name == "gcp":
            from providers.gcp import tuning_jobs as gcp

            return gcp.tuning_status(self.inner, handle)  # type: ignore[arg-type]
        if self.inner.name == "azure":
            from providers.azure import tuning_jobs as azure

            return azure.sweep_status(self.inner, handle)  # type: ignore[arg-type]
        raise self._unsupported("following")

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        if self.inner.name == "local":
            from providers.local import tuning as local

            yield from local.logs(handle, follow=follow)
            return
        if self.inner.name == "azure":
            from providers.azure import tuning_jobs as azure

            yield from azure.sweep_logs(self.inner, handle, follow=follow)  # type: ignore[arg-type]
            return
        if self.inner.name == "gcp":
            from providers.gcp import tuning_jobs as gcp

            yield from gcp.tuning_logs(self.inner, handle, follow=follow)  # type: ignore[arg-type]
            return
        if self.inner.name == "aws":
            from providers.aws import tuning as aws

            yield from aws.tuning_logs(self.inner, handle, follow=follow)  # type: ignore[arg-type]
            return
        raise self._unsupported("reading logs")

    def fetch_run_files(self, handle: JobHandle) -> Path:
        """A Vertex trial's metrics files; a study as a whole has none of its own."""
        trial = self._trial(handle)
        if trial is None:
            raise UsageError(
                "a study has no metrics files of its own; its trials do",
                hint="`cloudgd report HANDLE` compares the study's best trials",
            )
        from providers.gcp import tuning_jobs as gcp

        return gcp.trial_run_files(self.inner, handle, trial)  # type: ignore[arg-type]

    def cancel(self, handle: JobHandle) -> JobStatus:
        if self._trial(handle) is not None:
            raise UsageError(
                "Vertex AI stops a study's trials only with the study",
                hint=f"cancel the whole study: cloudgd cancel '{study_of(handle)}'",
            )
        if self.inner.name == "local":
            from providers.local import tuning as local

            return local.cancel(handle)
        if self.inner.name == "aws":
            from providers.aws import tuning as aws

            return aws.cancel_tuning(self.inner, handle)  # type: ignore[arg-type]
        if self.inner.name == "gcp":
            from providers.gcp import tuning_jobs as gcp

            return gcp.cancel_tuning(self.inner, handle)  # type: ignore[arg-type]
        if self.inner.name == "azure":
            from providers.azure import tuning_jobs as azure

            return azure.cancel_sweep(self.inner, handle)  # type: ignore[arg-type]
        raise self._unsupported("cancelling")

"""Status, logs and cancel for tuning handles (``...?kind=tuning``), through the provider.

:class:`TuningFollower` wraps the provider that owns the handle and answers for the
whole study through its :class:`~providers.features.SupportsTuning` methods, with the
trials in the status (:class:`cloudgd.tuning.status.StudyStatus`); the CLI's
``status``, ``logs``, ``wait`` and ``cancel`` use it without knowing about tuning.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from cloudgd.errors import UsageError
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.handle import trial_of
from providers.base import Provider
from providers.features import require_tuner


class TuningFollower(Provider):
    """Follows tuning jobs through the provider that created them.

    A provider without tuning is refused here, with one line naming it.
    """

    name: ClassVar[str] = "tuning"
    options_model: ClassVar[Any] = None

    def __init__(self, inner: Provider) -> None:
        super().__init__(backend="cloud")
        self.inner = inner
        self.tuner = require_tuner(inner)
        self.name = inner.name  # type: ignore[misc]
        self.default_poll_seconds = inner.default_poll_seconds  # type: ignore[misc]

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        raise UsageError("plan a tuning job with `cloudgd tune FILE --dry-run`")

    def submit(self, plan: Plan) -> JobStatus:
        raise UsageError("submit a tuning job with `cloudgd tune FILE`")

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        return []

    def status(self, handle: JobHandle) -> JobStatus:
        trial = trial_of(handle)
        if trial is not None:
            return self.tuner.trial_status(handle, trial)
        return self.tuner.tuning_status(handle)

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        # A trial's lines are the study's, filtered by the provider (the handle says which).
        yield from self.tuner.tuning_logs(handle, follow=follow)

    def fetch_run_files(self, handle: JobHandle) -> Path:
        """A trial's metrics files; a study as a whole has none of its own."""
        trial = trial_of(handle)
        if trial is None:
            raise UsageError(
                "a study has no metrics files of its own; its trials do",
                hint="`cloudgd report HANDLE` compares the study's best trials",
            )
        return self.tuner.trial_run_files(handle, trial)

    def cancel(self, handle: JobHandle) -> JobStatus:
        trial = trial_of(handle)
        if trial is not None:
            return self.tuner.cancel_trial(handle, trial)
        return self.tuner.cancel_tuning(handle)

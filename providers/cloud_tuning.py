"""SupportsTuning through a cloud provider's ``tuning_jobs`` module, one way for every cloud.

Each cloud provider keeps its study code in ``providers/<name>/tuning_jobs.py``, whose
``submit_tuning``, ``tuning_status``, ``tuning_logs`` and ``cancel_tuning`` take the
provider first. The module is imported when a study is first touched, not with the
provider, so ``cloudgd plan`` and ``import cloudgd`` stay as light as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import ClassVar

from cloudgd.plan import JobHandle, JobStatus, Plan
from providers.features import SupportsTuning


class CloudTuning(SupportsTuning):
    """Submit, status, logs and cancel of a study, answered by :attr:`tuning_jobs_module`.

    ``plan_tuning`` and ``trial_handle`` stay with each provider: how a study is rendered
    and how its trials are named differ from cloud to cloud.
    """

    #: The dotted name of the module that submits, follows and cancels studies.
    tuning_jobs_module: ClassVar[str]

    def _tuning_jobs(self) -> ModuleType:
        return importlib.import_module(self.tuning_jobs_module)

    def submit_tuning(
        self, plan: Plan, *, on_event: Callable[[str], None] | None = None
    ) -> JobStatus:
        status: JobStatus = self._tuning_jobs().submit_tuning(self, plan)
        return status

    def tuning_status(self, handle: JobHandle) -> JobStatus:
        status: JobStatus = self._tuning_jobs().tuning_status(self, handle)
        return status

    def tuning_logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        lines: Iterator[str] = self._tuning_jobs().tuning_logs(self, handle, follow=follow)
        return lines

    def cancel_tuning(self, handle: JobHandle) -> JobStatus:
        status: JobStatus = self._tuning_jobs().cancel_tuning(self, handle)
        return status

"""Submit, follow and cancel Azure ML sweep jobs (cloud or the fake).

A sweep is an Azure ML job like a command job: ``jobs.create_or_update`` of the
rendered sweep document, ``jobs.get`` and ``jobs.begin_cancel`` by name, so the
provider's own submit/status/cancel do the work and this module marks the
results as a study. Trials are child jobs of the sweep; cloudgd does not list
them yet, so ``extra['trials']`` is None and ``extra['note']`` says where to look.
"""

from __future__ import annotations

from collections.abc import Iterator

from cloudgd.plan import JobHandle, JobStatus, Plan
from cloudgd.tuning.handle import KIND, as_tuning
from providers.azure.provider import AzureProvider

TRIALS_NOTE = (
    "Azure ML runs each trial as a child job of the sweep; cloudgd reports the sweep's "
    "own state (see the trials in Azure ML studio)"
)


def _job_handle(handle: JobHandle) -> JobHandle:
    """The sweep's handle without ``kind=tuning``: the provider's single-job view."""
    params = {k: v for k, v in handle.params.items() if k != KIND}
    return handle.model_copy(update={"params": params})


def _as_study(status: JobStatus, handle: JobHandle | str) -> JobStatus:
    extra = {**status.extra, "kind": "tuning", "trials": None, "note": TRIALS_NOTE}
    return status.model_copy(update={"handle": str(as_tuning(handle)), "extra": extra})


def submit_sweep(provider: AzureProvider, plan: Plan) -> JobStatus:
    """Create the sweep job (or attach to the one of the same name)."""
    status = provider.submit(plan)
    return _as_study(status, status.handle)


def sweep_status(provider: AzureProvider, handle: JobHandle) -> JobStatus:
    """The sweep job's own state as a study's status."""
    return _as_study(provider.status(_job_handle(handle)), handle)


def cancel_sweep(provider: AzureProvider, handle: JobHandle) -> JobStatus:
    """Cancel the sweep (Azure ML cancels its running trials); ended sweeps are left alone."""
    return _as_study(provider.cancel(_job_handle(handle)), handle)


def sweep_logs(
    provider: AzureProvider, handle: JobHandle, *, follow: bool = False
) -> Iterator[str]:
    """The sweep job's own log files (the trials' logs live on their child jobs)."""
    yield from provider.logs(_job_handle(handle), follow=follow)

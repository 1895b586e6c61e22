"""Following the local run behind a rehearsal handle: one way, for every cloud.

``submit --run-local`` sends the cloud request to a rehearsal backend (moto, the fake
Vertex or Azure ML service), which checks the control plane but trains nothing, and
runs the same job here through the local provider. The cloud handle then names that
local run in its query, ``run=<local run dir>`` (:data:`RUN_QUERY`), and every command
that follows the job follows the local run, the one that trains:

- status (and so wait): the local run's status, under the cloud handle, with the local
  handle in ``extra["rehearsal_run"]`` (:data:`RUN_KEY`);
- logs, fetch (metrics files), download and the metric names it reports: the local run's;
- cancel: stop the local run, then, when the handle names the provider's rehearsal
  backend (``backend=``) and that backend keeps a job that can be cancelled
  (:attr:`providers.features.SupportsRehearsal.rehearsal_cancels_backend`), cancel it there
  too; never a real cloud job. The local run is the job, so a backend that fails (a
  stopped fake) does not fail the cancel: its error is kept in ``extra["remote_cancel"]``.

Every cloudgd version wrote the local run as ``run=`` in the handle, so any rehearsal
handle is followed. (Before this module, statuses named the local run under three keys:
``rehearsal_run`` on aws, ``local_run`` on gcp and ``run`` on azure; now all use
``rehearsal_run``.) The run directory is checked by the local provider like any handle
someone hands over (:mod:`providers.local.trust`): only runs cloudgd created are followed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cloudgd.errors import CloudgdError
from cloudgd.plan import JobHandle, JobStatus
from cloudgd.registry import LOCAL

if TYPE_CHECKING:
    from cloudgd.ci.reported import JobReports
    from providers.base import Provider

RUN_QUERY = "run"  # the handle query key naming the local run's directory
RUN_KEY = "rehearsal_run"  # the JobStatus.extra key naming the local run's handle
REMOTE_CANCEL_KEY = "remote_cancel"  # why the backend's job could not be cancelled

Method = TypeVar("Method", bound=Callable[..., Any])


def local_run(handle: JobHandle) -> JobHandle | None:
    """The local run behind a rehearsal handle (``...?run=/path``), if any."""
    run = handle.params.get(RUN_QUERY)
    return JobHandle(provider=LOCAL, parts=(run,)) if run else None


def without_run(handle: JobHandle) -> JobHandle:
    """The cloud handle alone: the rehearsal backend's job, not the local run."""
    params = {k: v for k, v in handle.params.items() if k != RUN_QUERY}
    return handle.model_copy(update={"params": params})


class RehearsalFollower:
    """Status, logs, cancel, fetch and download of a rehearsal handle, for any provider."""

    def __init__(self, cloud: Provider) -> None:
        self.cloud = cloud

    def runner(self) -> Provider:
        """The local provider that runs (and so answers for) the rehearsal's job."""
        from cloudgd import registry

        return registry.create(LOCAL, runs_dir=self.cloud.runs_dir)

    @staticmethod
    def _run(handle: JobHandle) -> JobHandle:
        run = local_run(handle)
        if run is None:
            raise ValueError(f"{handle} is not a rehearsal handle (no {RUN_QUERY}=)")
        return run

    @staticmethod
    def _as_cloud(handle: JobHandle, local: JobStatus) -> JobStatus:
        extra = {**local.extra, RUN_KEY: local.handle}
        return local.model_copy(update={"handle": str(handle), "extra": extra})

    def status(self, handle: JobHandle) -> JobStatus:
        """The local run's status under the cloud handle."""
        return self._as_cloud(handle, self.runner().status(self._run(handle)))

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """The local run's log lines; with ``follow``, until it ends."""
        yield from self.runner().logs(self._run(handle), follow=follow)

    def cancel(self, handle: JobHandle) -> JobStatus:
        """Stop the local run, then the backend's job where it has one (see the module)."""
        stopped = self._as_cloud(handle, self.runner().cancel(self._run(handle)))
        backend = getattr(self.cloud, "rehearsal_backend", None)
        # Only the rehearsal backend's job: a handle without backend= would reach the cloud.
        if backend is None or handle.params.get("backend") != backend:
            return stopped
        if not getattr(self.cloud, "rehearsal_cancels_backend", False):
            return stopped
        try:
            self.cloud.cancel(without_run(handle))
        except CloudgdError as exc:
            extra = {**stopped.extra, REMOTE_CANCEL_KEY: exc.message}
            return stopped.model_copy(update={"extra": extra})
        return stopped

    def fetch_run_files(self, handle: JobHandle) -> Path:
        """The local run's directory holding metrics.jsonl and summary.json."""
        return self.runner().fetch_run_files(self._run(handle))

    def reported_metrics(self, handle: JobHandle) -> JobReports | None:
        """The metric names the local run's job reports."""
        return self.runner().reported_metrics(self._run(handle))

    def download(
        self,
        handle: JobHandle,
        dest: Path,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> list[Path]:
        """The local run's model and outputs, copied into ``dest``."""
        return self.runner().download(self._run(handle), dest, progress=progress)


def follows_rehearsal(method: Method) -> Method:
    """Route a provider method taking a handle to :class:`RehearsalFollower` for a
    rehearsal handle; any other handle reaches the method itself."""

    @functools.wraps(method)
    def route(self: Provider, handle: JobHandle, *args: Any, **kwargs: Any) -> Any:
        if local_run(handle) is not None:
            return getattr(RehearsalFollower(self), method.__name__)(handle, *args, **kwargs)
        return method(self, handle, *args, **kwargs)

    return cast(Method, route)

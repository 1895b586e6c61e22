"""The abstract Provider every backend implements.

Modelled on TorchX's scheduler API: ``plan()`` is a pure dry run that returns the
exact request; ``submit()`` sends it unchanged. Everything after submission works
from a handle URI alone, so separate CLI invocations need no local database. Optional
features (tuning, rehearsal) are mixins in :mod:`providers.features`.
"""

from __future__ import annotations

import builtins
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from cloudgd.ci.reported import JobReports
from cloudgd.errors import ProviderError, UsageError
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.rehearsal_follow import follows_rehearsal


class Provider(ABC):
    """A backend that turns a JobSpec into a running job and follows it.

    Constructor keywords (all optional, so the registry can build any provider):

    - ``backend``: ``"cloud"`` (the real service) or a rehearsal backend
      (``"moto"`` for AWS, ``"fake"`` for GCP/Azure).
    - ``endpoint``: URL of a backend server to use instead of starting one.
    - ``run_local``: with a rehearsal backend, also run the job here through the
      local provider with this cloud's container contract emulated.
    - ``client_factory``: tests inject fake SDK clients through it.
    - ``runs_dir``: where local runs live.
    """

    name: ClassVar[str]
    options_model: ClassVar[type[BaseModel]]
    backends: ClassVar[tuple[str, ...]] = ("cloud",)

    # -- what the core reads instead of asking a provider's name -------------
    # Read from the class (``registry.provider_class(name).is_cloud``), so a plug-in
    # states its facts here and the core treats it like a built-in.
    is_cloud: ClassVar[bool] = False
    """A service billed by the machine-hour: priced from the catalog (its package has a
    ``pricing.py`` with ``RULES``), listed by ``cloudgd cost`` and ``cloudgd catalog``,
    and held to ``limits.max_cost_usd`` before submit."""
    runs_here: ClassVar[bool] = False
    """Jobs run on this machine: no bill, and reports name "this machine" as the machine."""
    resumable: ClassVar[bool] = False
    """``submit(plan, resume=True)`` starts an ended run again from its checkpoints."""
    default_poll_seconds: ClassVar[float] = 10.0
    """Seconds between status checks while waiting (cloud APIs rate-limit)."""
    bundle_format: ClassVar[str | None] = None
    """The code bundle a job ships (see :mod:`cloudgd.bundle`): ``"tar.gz"``, ``"sdist"``
    (a pip-installable package) or None when the job needs no bundle."""
    uri_schemes: ClassVar[tuple[str, ...]] = ()
    """Storage URI schemes this provider's data lives under (``s3``): ``cloudgd data
    upload`` picks the provider from a URI's scheme."""
    # -- options: the spec's ``providers.<name>`` block (cloudgd.provider_options) --
    # ``options_model`` types the block; without one the block takes no fields. A
    # registration that names the options module (cloudgd.registry.ProviderInfo.options)
    # is read instead, so the class is not imported to validate a spec: keep them equal.
    options_description: ClassVar[str] = ""
    """One line about the block for `cloudgd schema` (default: the options model's docstring)."""
    terraform_outputs: ClassVar[tuple[str, ...]] = ()
    """Options fields this provider's terraform/ module outputs under the same names; a
    provider with some is one `cloudgd config from-terraform` can fill."""

    def __init__(
        self,
        *,
        backend: str = "cloud",
        endpoint: str | None = None,
        run_local: bool = False,
        client_factory: Callable[..., Any] | None = None,
        runs_dir: str | None = None,
    ) -> None:
        if backend not in self.backends:
            raise UsageError(
                f"--backend {backend!r} is not available for provider {self.name}",
                hint=f"choose one of: {', '.join(self.backends)}",
            )
        self.backend = backend
        self.endpoint = endpoint
        self.run_local = run_local
        self.client_factory = client_factory
        self.runs_dir = runs_dir
        # The user config's block for this provider (`cloudgd config from-terraform
        # --format user`): where commands without a spec, like `list`, look.
        self.user_settings: dict[str, Any] = {}

    # -- planning (pure) -------------------------------------------------
    @abstractmethod
    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        """Render the exact request. No I/O, no SDK import, no clock."""

    # -- side effects ----------------------------------------------------
    @abstractmethod
    def submit(self, plan: Plan) -> JobStatus:
        """Do the plan's uploads, send its request unchanged, return the first status.

        Idempotent: when a job with the plan's name exists, return its status
        instead of creating a second one.
        """

    @abstractmethod
    def status(self, handle: JobHandle) -> JobStatus:
        """Current status of the job."""

    @abstractmethod
    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """Log lines; with ``follow``, keep yielding until the job is terminal."""

    @abstractmethod
    def cancel(self, handle: JobHandle) -> JobStatus:
        """Stop the job. Idempotent: cancelling an ended job returns its status."""

    @abstractmethod
    def list(self, prefix: str | None = None) -> list[JobStatus]:
        """Jobs cloudgd created, newest first, optionally filtered by name prefix."""

    @follows_rehearsal
    def fetch_run_files(self, handle: JobHandle) -> Path:
        """A local directory holding the trainer's ``metrics.jsonl`` and ``summary.json``.

        Local runs answer with their output dir; cloud providers download the files
        from the job's output location into :func:`fetched_dir`. A rehearsal handle
        (``?run=``) answers with its local run's files, for every provider
        (:mod:`providers.rehearsal_follow`).
        """
        raise ProviderError(
            f"provider {self.name} cannot fetch a job's metrics files",
            hint="`cloudgd logs HANDLE` shows the metric lines the trainer printed",
        )

    @follows_rehearsal
    def reported_metrics(self, handle: JobHandle) -> JobReports | None:
        """The metric names the job reports, as the job itself records them, so that
        ``cloudgd wait HANDLE --min-metric NAME=V`` can check NAME before waiting.

        None (the default) when this provider cannot tell: the CLI then reads the record
        ``submit`` wrote (:mod:`cloudgd.ci.reported`). Local runs answer from their run
        directory; a rehearsal handle (``?run=``) answers with its local run's.
        """
        return None

    @follows_rehearsal
    def download(
        self,
        handle: JobHandle,
        dest: Path,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> builtins.list[Path]:  # the bare name is the list() method here
        """Copy the job's model to ``dest/model`` and its outputs (metrics included) to
        ``dest/output``; the files written (layout: :mod:`cloudgd.download`).

        A rehearsal handle (``?run=``) downloads its local run's files, for every provider.
        """
        raise ProviderError(
            f"provider {self.name} cannot download a job's files yet",
            hint="`cloudgd report HANDLE` reads its metrics where the provider can fetch them",
        )

    def wait(
        self,
        handle: JobHandle,
        *,
        timeout: float | None = None,
        poll: float = 5.0,
        on_status: Callable[[JobStatus], None] | None = None,
    ) -> JobStatus:
        """Poll until the job is terminal (or ``timeout`` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = self.status(handle)
            if on_status is not None:
                on_status(current)
            if current.state.terminal:
                return current
            if deadline is not None and time.monotonic() >= deadline:
                return current
            time.sleep(poll)


def terminal(state: JobState) -> bool:
    """True for SUCCEEDED, FAILED and CANCELLED."""
    return state.terminal


def fetched_dir(handle: JobHandle) -> Path:
    """Where a job's downloaded run files go: ``$CLOUDGD_HOME/fetched/<provider>/<job>``."""
    from cloudgd.errors import UsageError
    from cloudgd.home import home

    for part in (handle.provider, handle.job):
        if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
            raise UsageError(f"handle {handle} names no usable job: {part!r}")
    return home() / "fetched" / handle.provider / handle.job

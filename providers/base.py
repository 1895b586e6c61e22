"""The abstract Provider every backend implements.

Modelled on TorchX's scheduler API: ``plan()`` is a pure dry run that returns the
exact request; ``submit()`` sends it unchanged. Everything after submission works
from a handle URI alone, so separate CLI invocations need no local database.
"""

from __future__ import annotations

import builtins
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from cloudgd.errors import ProviderError, UsageError
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.rehearsal_follow import LOCAL_RUNNER, follows_rehearsal, local_run

if TYPE_CHECKING:
    from providers.local.tuning_jobs import LocalStudy, TrialPlanner


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
    # ``options_model`` types the block; without one the block takes no fields.
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


def rehearsal_run(handle: JobHandle) -> JobHandle | None:
    """The local run behind a rehearsal handle (``...?run=/path``), if any.

    With ``--run-local`` the CLI submits the cloud request to the rehearsal
    backend *and* runs the job here with that cloud's contract emulated; the
    cloud handle then carries ``run=<local run dir>`` and status, logs, wait and
    cancel follow the local run (:mod:`providers.rehearsal_follow`).
    """
    return local_run(handle)


# -- optional feature: hyperparameter tuning -----------------------------------------
# Like TorchX's optional scheduler features and dstack's capability mixins: a provider
# that tunes inherits SupportsTuning, and the core finds it with isinstance (through
# require_tuner), never by asking the provider's name.


class SupportsTuning(ABC):
    """A provider that runs hyperparameter studies (``cloudgd tune``, ``?kind=tuning``).

    The same files serve this in every built-in provider: ``providers/<name>/tuning.py``
    renders the study request (``render_tuning``, pure) and ``tuning_jobs.py`` submits,
    follows and cancels it (``submit_tuning``, ``tuning_status``, ``tuning_logs``,
    ``cancel_tuning``). Status answers carry the study in ``JobStatus.extra``, written
    and read through :class:`cloudgd.tuning.status.StudyStatus`.
    """

    #: True where the study runs in this process: ``submit_tuning`` returns once it
    #: ended (the local provider, with Optuna), so it is never followed or budget-gated.
    study_runs_here: ClassVar[bool] = False

    @abstractmethod
    def plan_tuning(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        """The study's exact request for a spec with a ``tuning:`` block. Pure, like plan()."""

    @abstractmethod
    def submit_tuning(
        self, plan: Plan, *, on_event: Callable[[str], None] | None = None
    ) -> JobStatus:
        """Start the study from its plan (idempotent, like submit()); its status, with a
        tuning handle. Where :attr:`study_runs_here`, run it to its end, each progress
        line through ``on_event``."""

    @abstractmethod
    def tuning_status(self, handle: JobHandle) -> JobStatus:
        """The study's state, its trials and the best one so far."""

    @abstractmethod
    def tuning_logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """The study's log lines; with ``follow``, until it ends."""

    @abstractmethod
    def cancel_tuning(self, handle: JobHandle) -> JobStatus:
        """Stop the study and its running trials. Idempotent."""

    @classmethod
    @abstractmethod
    def trial_handle(cls, study: JobHandle, name: str) -> str:
        """The handle that follows the study's trial ``name`` (from the handle alone)."""

    def trial_status(self, handle: JobHandle, trial: str) -> JobStatus:
        """One trial named by ``trial=<id>`` on the study's handle, where trials are no jobs
        of their own (Vertex AI); elsewhere a trial has its own handle."""
        raise _trials_have_handles(self, trial)

    def trial_run_files(self, handle: JobHandle, trial: str) -> Path:
        """The metrics files of the trial ``trial=<id>`` names (see :meth:`trial_status`)."""
        raise _trials_have_handles(self, trial)

    def cancel_trial(self, handle: JobHandle, trial: str) -> JobStatus:
        """Stop one ``trial=<id>`` trial (see :meth:`trial_status`)."""
        raise _trials_have_handles(self, trial)


def _trials_have_handles(provider: object, trial: str) -> UsageError:
    name = getattr(provider, "name", type(provider).__name__)
    return UsageError(
        f"trial={trial}: a trial of a {name} study is a job with its own handle",
        hint="`cloudgd status` on the study lists its trials and their handles",
    )


def tuning_providers() -> builtins.list[str]:
    """Names of the installed providers that tune (their classes inherit SupportsTuning)."""
    from cloudgd import registry

    found = []
    for name in sorted(registry.available()):
        try:
            cls = registry.provider_class(name)
        except ProviderError:  # a broken plug-in cannot tune either
            continue
        if issubclass(cls, SupportsTuning):
            found.append(name)
    return found


def require_tuner(provider: Provider) -> SupportsTuning:
    """``provider`` as a tuner, or a UsageError naming it and the providers that tune."""
    if isinstance(provider, SupportsTuning):
        return provider
    tuners = ", ".join(tuning_providers()) or "none is installed"
    raise UsageError(
        f"provider {provider.name} does not support tuning",
        hint=f"providers that tune: {tuners}",
    )


# -- rehearsal (SupportsRehearsal) -------------------------------------------------


class SupportsRehearsal(Provider):
    """A cloud provider with an offline rehearsal backend, found with ``isinstance``.

    The backend is a local server standing in for the cloud's control plane (moto, the
    fake Vertex or Azure ML service; ``providers/<cloud>/rehearsal/``): it checks the
    requests but trains nothing. With ``--run-local`` the same job also runs here,
    through the local provider with this cloud's container contract emulated, and the
    cloud handle follows that run (:mod:`providers.rehearsal_follow`).
    """

    rehearsal_backend: ClassVar[str]  # its --backend value ("moto", "fake")
    rehearsal_server: ClassVar[tuple[str, str]]  # (server name, module run as `python -m`)
    # Input URIs rehearsal_inputs copies from the backend's store (others: the local
    # planner refuses them).
    rehearsal_data_prefixes: ClassVar[tuple[str, ...]] = ()
    # Whether cancel also cancels the backend's job (moto's jobs end at once, unstoppable).
    rehearsal_cancels_backend: ClassVar[bool] = True

    # -- the server ------------------------------------------------------------------
    def start_rehearsal_server(self, *extra_args: str) -> str:
        """The URL of the rehearsal server, started detached unless it already runs."""
        from cloudgd import servers

        return servers.ensure(*self.rehearsal_server, *extra_args)

    def stop_rehearsal_server(self) -> bool:
        """Stop the rehearsal server if it runs; True when stopped."""
        from cloudgd import servers

        return servers.stop(self.rehearsal_server[0])

    # -- the local run -----------------------------------------------------------------
    def rehearsal_runner(self, runs_dir: str | None = None) -> Provider:
        """The local provider that runs the rehearsal's job."""
        from cloudgd import registry

        return registry.create(LOCAL_RUNNER, runs_dir=runs_dir)

    def rehearsal_inputs(self, plan: Plan, dest: Path) -> dict[str, str]:
        """After :meth:`submit` (which checked they exist): copy ``plan``'s inputs from the
        backend's store to ``dest/<channel>``; channel -> local path (default: none)."""
        return {}

    def _reads_backend_data(self, spec: JobSpec) -> bool:
        from cloudgd.rehearsal import reads_cloud_data

        return reads_cloud_data(spec, self.rehearsal_data_prefixes)

    def _with_backend_data(self, plan: Plan, spec: JobSpec, ctx: RenderContext) -> JobSpec:
        from cloudgd.home import runs_dir
        from cloudgd.rehearsal import with_inputs

        copies = Path(ctx.runs_dir or runs_dir()).absolute() / ".inputs" / plan.job_name
        return with_inputs(spec, self.rehearsal_inputs(plan, copies))

    def rehearse(
        self, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext, local: Provider
    ) -> tuple[JobStatus, Plan]:
        """Submit ``cloud_plan`` to the backend and make the local plan that runs the job here
        (``spec`` already emulates this cloud): (the submit's status, the local plan).

        By default the local plan is the local provider's emulation, planned before the
        submit; with data in the backend's store (:attr:`rehearsal_data_prefixes`) it is
        planned after, on a copy of that data (the submit checks it exists).
        """
        bare = ctx.model_copy(update={"bundle": None})
        if self._reads_backend_data(spec):
            submitted = self.submit(cloud_plan)
            spec = self._with_backend_data(cloud_plan, spec, ctx)
            return submitted, local.plan(spec, bare)
        local_plan = local.plan(spec, bare)
        return self.submit(cloud_plan), local_plan

    def rehearsal_trial_planner(self, tuning_plan: Plan, ctx: RenderContext) -> TrialPlanner | None:
        """How ``tune --run-local`` plans each trial; None (the default): the trial's values
        are written into its trainer config under the emulated contract."""
        return None

    def rehearsal_study(
        self,
        tuning_plan: Plan,
        spec: JobSpec,
        ctx: RenderContext,
        on_event: Callable[[str], None] | None = None,
    ) -> LocalStudy:
        """The local study that runs every trial of ``tuning_plan`` here (``spec`` already
        emulates this cloud), after the tuning job's submit checked its data exists."""
        from providers.local.tuning_jobs import LocalStudy

        planner = self.rehearsal_trial_planner(tuning_plan, ctx)
        if planner is None and self._reads_backend_data(spec):
            spec = self._with_backend_data(tuning_plan, spec, ctx)  # once, for every trial
        return LocalStudy(
            spec,
            Path(ctx.runs_dir or ".") / "studies" / tuning_plan.job_name,
            name=tuning_plan.job_name,
            now=ctx.now,
            on_event=on_event,
            plan_trial=planner,
            spec_dir=ctx.spec_dir,
        )

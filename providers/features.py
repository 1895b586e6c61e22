"""Optional provider features, discovered by type: :class:`SupportsTuning` and
:class:`SupportsRehearsal`.

Like TorchX's optional scheduler features and dstack's capability mixins: a provider
that tunes or rehearses inherits the mixin, and the core finds it with ``isinstance``
(through :func:`require_tuner`, :func:`cloudgd.rehearsal.check_rehearsal`), never by
asking the provider's name. The core :class:`~providers.base.Provider` is in
:mod:`providers.base`.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from cloudgd.errors import ProviderError, UsageError
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider

if TYPE_CHECKING:
    from providers.local.tuning_jobs import LocalStudy, TrialPlanner


# -- hyperparameter tuning (SupportsTuning) ---------------------------------------


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

        return registry.create(registry.LOCAL, runs_dir=runs_dir)

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

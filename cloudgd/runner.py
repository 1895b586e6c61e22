"""plan → budget gate → submit → wait: the one code path behind the CLI and the Python API.

The same for a tuning study (``cloudgd tune``, ``Job.tune``): :func:`plan_tuning`,
:func:`tuning_budget_gate`, :func:`tune` and :func:`wait_study`.

Like TorchX's ``runner/api.py``: the CLI modules parse flags and print, :mod:`cloudgd.api`
wraps the same functions in ``Job``/``Run`` objects, and both reach a provider only
through here. Nothing in this module prints; progress goes to a ``notify`` callback
(the CLI passes one writing to stderr, the Python API none).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cloudgd.errors import JobFailedError, WaitTimeoutError
from cloudgd.handles import open_handle as open_handle  # the API's handle entry points
from cloudgd.handles import parse_handle as parse_handle
from cloudgd.plan import JobHandle, JobState, JobStatus

if TYPE_CHECKING:
    from cloudgd.loader import LoadedSpec
    from cloudgd.plan import Plan
    from cloudgd.planning import Planned
    from providers.base import Provider

Notify = Callable[[str], None]
log = logging.getLogger(__name__)


def _quiet(_line: str) -> None:
    """The default ``notify``: the Python API prints nothing unless asked."""


@dataclass(frozen=True)
class Submitted:
    """What submit created (or attached to): the plan it sent, the first status, the handle."""

    planned: Planned
    status: JobStatus
    handle: JobHandle
    attached: bool

    @property
    def provider(self) -> Provider:
        """The provider the job was sent to."""
        return self.planned.provider


def plan(
    source: str | Path | LoadedSpec,
    provider: str,
    *,
    overrides: Sequence[str] = (),
    idempotency_key: str | None = None,
    backend: str = "cloud",
    endpoint: str | None = None,
    run_local: bool = False,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> Planned:
    """The plan ``cloudgd plan`` prints and ``submit`` sends, for a job file or a loaded spec."""
    from cloudgd.loader import load_spec
    from cloudgd.planning import plan_loaded

    if isinstance(source, str | Path):
        loaded = load_spec(source, overrides)
    elif overrides:
        raise ValueError("overrides apply to a job file; apply them before loading the spec")
    else:
        loaded = source
    log.info("planning %s for provider %s (backend %s)", loaded.source, provider, backend)
    return plan_loaded(
        loaded,
        provider,
        idempotency_key=idempotency_key,
        backend=backend,
        endpoint=endpoint,
        run_local=run_local,
        now=now,
        env=env,
    )


def submit(
    planned: Planned,
    *,
    explicit_key: str | None = None,
    run_local: bool = False,
    data_from: str | Path | None = None,
    resume: bool = False,
    notify: Notify = _quiet,
) -> Submitted:
    """Budget gate, then create the job (or attach to the one a CI re-run started).

    ``explicit_key`` is the idempotency key the user chose, if any: a chosen key names
    exactly one job, so no earlier CI attempt is looked for. ``data_from``: a local file or
    directory uploaded to the spec's ``trainer.data.uri`` first (after the budget gate).
    ``resume``: a local run that ended FAILED or CANCELLED starts again in its run
    directory, and the trainer resumes from its latest checkpoint.
    """
    from cloudgd.planning import budget_gate
    from cloudgd.rehearsal import submit_rehearsal

    budget_gate(planned)
    log.info("budget gate passed for %s", planned.plan.job_name)
    if data_from is not None:
        upload_data_from(planned, Path(data_from), notify=notify)
    planned, attached = attach_to_earlier_attempt(planned, explicit_key=explicit_key, notify=notify)
    chosen, sent = planned.provider, planned.plan
    log.info(
        "submitting %s: %s (%d upload(s) first)", sent.job_name, sent.operation, len(sent.uploads)
    )
    if run_local:
        status = submit_rehearsal(chosen, sent, planned.loaded.spec, planned.ctx)
    elif resume:
        status = chosen.submit(sent, resume=True)  # type: ignore[call-arg]
    else:
        status = chosen.submit(sent)
    handle = JobHandle.parse(status.handle or sent.handle)
    _record_reports(handle, planned)
    return Submitted(planned=planned, status=status, handle=handle, attached=attached)


def _record_reports(handle: JobHandle | str, planned: Planned) -> None:
    """Record the metric names the job reports, so ``cloudgd wait HANDLE --min-metric``
    can check a script job's own names from the handle alone (:mod:`cloudgd.ci.reported`)."""
    from cloudgd.ci.reported import JobReports, record

    if record(handle, JobReports.of(planned.loaded.spec)) is None:
        log.warning("could not record the metric names of %s under CLOUDGD_HOME", handle)


@dataclass(frozen=True)
class Tuned:
    """What tune started: the plan it sent, the study's status (a tuning handle) and,
    with ``run_local``, the status of the study that rehearsed every trial here."""

    planned: Planned
    plan: Plan
    status: JobStatus
    rehearsal: JobStatus | None = None

    @property
    def provider(self) -> Provider:
        """The provider the study was sent to."""
        return self.planned.provider


def study_runs_here(provider: str | Provider) -> bool:
    """Whether ``provider`` (a name or an instance) runs its studies in this process, so a
    study there always ends before tune returns (:attr:`SupportsTuning.study_runs_here`)."""
    from cloudgd import registry
    from providers.features import SupportsTuning

    found = registry.provider_class(provider) if isinstance(provider, str) else type(provider)
    return issubclass(found, SupportsTuning) and found.study_runs_here


def plan_tuning(planned: Planned) -> Plan:
    """The provider's tuning plan, rendered with the same context as its single-job plan.

    SpecError when the spec has no ``tuning:``; a clear refusal when the provider does not
    tune (:func:`providers.features.require_tuner`).
    """
    from cloudgd.tuning.cost import require_tuning
    from providers.features import require_tuner

    require_tuning(planned.loaded.spec)
    return require_tuner(planned.provider).plan_tuning(planned.loaded.spec, planned.ctx)


def tuning_budget_gate(planned: Planned) -> None:
    """Refuse a cloud study whose trials × one trial's worst case exceed the budget."""
    spec = planned.loaded.spec
    if spec.limits.max_cost_usd is None or not planned.provider.is_cloud:
        return
    from cloudgd.cost.budget import enforce_budget
    from cloudgd.cost.select import choice_for_spec
    from cloudgd.tuning.cost import trial_spec

    # Each trial gets budget / trials, so this refuses when trials × worst case > budget.
    trial = trial_spec(spec)
    enforce_budget(trial, choice_for_spec(trial, planned.provider.name))


def tune(
    planned: Planned,
    study_plan: Plan | None = None,
    *,
    run_local: bool = False,
    notify: Notify = _quiet,
) -> Tuned:
    """Start the study of ``study_plan`` (default: :func:`plan_tuning`).

    A study that runs here (the local provider) returns once it ended, each progress line
    through ``notify``; a cloud study passes the budget gate, is submitted and returns at
    once, unless ``run_local`` (a rehearsal backend) also runs every trial here first.
    """
    from providers.features import require_tuner

    plan = study_plan if study_plan is not None else plan_tuning(planned)
    tuner = require_tuner(planned.provider)
    if tuner.study_runs_here:
        notify(f"study: {plan.handle}")
        _record_reports(plan.handle, planned)
        return Tuned(planned, plan, tuner.submit_tuning(plan, on_event=notify))
    tuning_budget_gate(planned)
    log.info("submitting tuning job %s", plan.job_name)
    status = tuner.submit_tuning(plan)
    _record_reports(status.handle or plan.handle, planned)
    notify(f"submitted tuning job {plan.job_name} to {planned.provider.name}: {status.state.value}")
    if not run_local:
        return Tuned(planned, plan, status)
    from cloudgd.rehearsal import rehearsal_study

    notify(f"rehearsal of {status.handle}: every trial runs here")
    spec, ctx = planned.loaded.spec, planned.ctx
    study = rehearsal_study(planned.provider, plan, spec, ctx, on_event=notify)
    return Tuned(planned, plan, status, rehearsal=study.run())


def upload_data_from(planned: Planned, path: Path, *, notify: Notify = _quiet) -> None:
    """``--data-from``: put ``path`` at the spec's ``trainer.data.uri`` (a script job's
    first ``script.inputs`` channel) through the provider."""
    from cloudgd.datafiles import upload
    from cloudgd.errors import UsageError

    spec = planned.loaded.spec
    field, uri = "trainer.data.uri", spec.trainer.data.uri
    if spec.script is not None:
        name, uri = next(iter(spec.script.inputs.items()), ("<name>", None))
        field = f"script.inputs.{name}"
    if not uri or "://" not in uri or uri.startswith("file://"):
        raise UsageError(
            f"--data-from: {field} must name cloud storage to upload to (it is {uri!r})",
            hint=f"set it, e.g. --set {field}=s3://cloudgd-rehearsal/data/"
            + ("" if spec.script is not None else "train.csv"),
        )
    written = upload(planned.provider, path, uri)
    notify(f"uploaded {len(written)} file(s) from {path} to {uri}")


def attach_to_earlier_attempt(
    planned: Planned, *, explicit_key: str | None, notify: Notify = _quiet
) -> tuple[Planned, bool]:
    """In a CI re-run, the plan of the job an earlier attempt started, if it should be reused.

    See :mod:`cloudgd.ci.reattach`; a key the user chose names exactly one job.
    """
    if explicit_key is not None:
        return planned, False
    from cloudgd.ci.environment import detect
    from cloudgd.ci.reattach import find_earlier_job

    run = detect(os.environ)
    if run is None:
        return planned, False
    earlier = find_earlier_job(planned.provider, planned.loaded.spec, planned.ctx, run)
    if earlier is None:
        return planned, False
    notify(
        f"attempt {run.attempt} of this CI run: attaching to {earlier.plan.job_name}, which "
        f"attempt {earlier.attempt} started ({earlier.status.state.value})"
    )
    return dataclasses.replace(planned, plan=earlier.plan, ctx=earlier.ctx), True


def default_poll(provider: Provider) -> float:
    """Seconds between status checks: the provider's own ``default_poll_seconds`` (local
    runs are cheap to ask, clouds rate-limit)."""
    return provider.default_poll_seconds


def wait(
    provider: Provider,
    handle: JobHandle,
    *,
    timeout: float | None = None,
    poll: float | None = None,
    on_status: Callable[[JobStatus], None] | None = None,
) -> JobStatus:
    """Poll until the job ends or ``timeout`` seconds pass; the last status either way."""
    log.info("waiting for %s (timeout %s s)", handle, timeout)
    return provider.wait(
        handle, timeout=timeout, poll=poll or default_poll(provider), on_status=on_status
    )


def wait_study(
    provider: Provider,
    handle: JobHandle,
    *,
    timeout: float | None = None,
    poll: float | None = None,
    on_status: Callable[[JobStatus], None] | None = None,
) -> JobStatus:
    """:func:`wait` for a study's tuning handle, through the provider's tuning methods;
    the last status carries the trials (:class:`cloudgd.tuning.status.StudyStatus`)."""
    from cloudgd.tuning.follow import TuningFollower

    return wait(TuningFollower(provider), handle, timeout=timeout, poll=poll, on_status=on_status)


def check_outcome(status: JobStatus) -> None:
    """JobFailedError (exit 4) when a waited-for job did not succeed."""
    if status.state in (JobState.FAILED, JobState.CANCELLED):
        reason = f": {status.message}" if status.message else ""
        raise JobFailedError(
            f"job {status.name} ended {status.state.value}{reason}",
            hint=f"see the logs: cloudgd logs '{status.handle}'",
        )


def check_finished(status: JobStatus, *, timeout_text: str) -> None:
    """WaitTimeoutError (exit 124) when the job was still running as the wait ended."""
    if not status.state.terminal:
        raise WaitTimeoutError(
            f"job {status.name} is still {status.state.value} after {timeout_text}",
            hint="it keeps running; wait again or cancel it",
        )


def download(
    provider: Provider,
    handle: JobHandle,
    dest: str | Path | None = None,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> tuple[Path, list[Path]]:
    """The job's model and outputs into ``dest`` (default: ``./<job name>``): (the folder,
    the files written). Layout: :mod:`cloudgd.download`."""
    folder = Path(dest) if dest is not None else Path.cwd() / Path(handle.job).name
    log.info("downloading %s into %s", handle, folder)
    return folder, provider.download(handle, folder, progress=progress)


def list_jobs(
    provider_name: str,
    *,
    backend: str = "cloud",
    endpoint: str | None = None,
    prefix: str | None = None,
    states: Sequence[JobState] = (),
    since: datetime | None = None,
    limit: int | None = None,
) -> list[JobStatus]:
    """Jobs cloudgd created on one provider, newest first, filtered.

    The provider looks where the user config (``config.yaml``) points it, as planning
    does: a GCP project, an Azure ML workspace. ``since`` keeps jobs created at or
    after it (a job whose creation time is unknown is left out); ``limit`` keeps the
    newest that many.
    """
    from cloudgd import registry
    from cloudgd.tfconfig import load_user_settings

    provider = registry.create(provider_name, backend=backend, endpoint=endpoint)
    provider.user_settings = load_user_settings().get(provider.name, {})
    log.info(
        "listing %s jobs (backend %s, user config %s)",
        provider.name,
        backend,
        sorted(provider.user_settings) or "none",
    )
    jobs = provider.list(prefix)
    if states:
        jobs = [job for job in jobs if job.state in states]
    if since is not None:
        jobs = [job for job in jobs if job.created_at is not None and job.created_at >= since]
    return jobs if limit is None else jobs[:limit]


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``--since``: a duration back from now (``90m``, ``6h``, ``7d``) or an ISO date or
    time (``2026-01-31``, ``2026-01-31T12:00``, UTC unless it says otherwise)."""
    from datetime import UTC, timedelta

    from cloudgd.durations import parse_duration
    from cloudgd.errors import UsageError

    try:
        return (now or datetime.now(UTC)) - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r}: expected a duration (90m, 6h, 7d) or a date (2026-01-31)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)

"""LocalProvider: runs the job on this machine, optionally emulating a cloud's container.

``plan`` renders the request (``render.py``); ``submit`` writes the run directory
and starts a detached supervisor (``supervisor.py``, started and stopped by
``control.py``); everything else works from the run directory alone
(``local://<run dir>``), from any process, including after the submitting CLI was killed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from cloudgd import naming
from cloudgd.ci.reported import JobReports
from cloudgd.errors import JobNotFoundError, ProviderError, UsageError
from cloudgd.home import runs_dir as default_runs_dir
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.redact import credential_values, scrub
from cloudgd.spec import JobSpec
from providers.base import Provider
from providers.features import SupportsTuning
from providers.local import states as st
from providers.local.control import start_supervisor, stop_run
from providers.local.logstream import read_lines
from providers.local.observe import find_output_dir, observe, to_status
from providers.local.options import DESCRIPTION, LocalOptions
from providers.local.rank_env import HIDDEN_ENV_PREFIX
from providers.local.render import build_plan
from providers.local.rundir import RunDir, new_state
from providers.local.staging import create_run_dir, resolve
from providers.local.trust import is_run, trusted_run

_SUPERVISOR_START_WAIT = 10.0


def hide_credentials(plan: Plan) -> tuple[Plan, dict[str, str]]:
    """The plan to store in the run dir, and the variables that carry what it hides.

    Credential-looking ``env`` values (:mod:`cloudgd.redact`) must not be written to
    plan.json. They become ``source: env`` secrets read from ``CLOUDGD_HIDDEN_<NAME>``
    in the supervisor's environment, exactly as declared secrets are, so the ranks
    still get them and no file in the run dir holds them.
    """
    values: dict[str, str] = {}
    for rank in plan.request.get("ranks", []):
        values.update(credential_values(rank.get("env", {})))
    if not values:
        return plan, {}
    request = scrub(plan.request, values)
    request["secrets"] = {
        **request.get("secrets", {}),
        **{name: {"source": "env", "ref": HIDDEN_ENV_PREFIX + name} for name in values},
    }
    hidden = {HIDDEN_ENV_PREFIX + name: value for name, value in values.items()}
    return plan.model_copy(
        update={"request": request, "summary": scrub(plan.summary, values)}
    ), hidden


class LocalProvider(SupportsTuning, Provider):
    """This machine: real subprocesses, one per rank, state kept in the run directory."""

    name: ClassVar[str] = "local"
    options_model: ClassVar[type[LocalOptions]] = LocalOptions
    runs_here: ClassVar[bool] = True
    resumable: ClassVar[bool] = True
    default_poll_seconds: ClassVar[float] = 1.0  # a run's state file is cheap to read
    options_description = DESCRIPTION
    study_runs_here: ClassVar[bool] = True  # Optuna here, each trial a local run

    # -- planning (pure apart from locating the runs dir) ----------------------
    def _runs_root(self, ctx: RenderContext | None, options: LocalOptions | None) -> Path:
        chosen = (ctx.runs_dir if ctx else None) or self.runs_dir
        chosen = chosen or (options.runs_dir if options else None)
        return Path(os.path.abspath(default_runs_dir(chosen)))

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        options = spec.providers.local
        name = naming.job_name(spec, ctx.idempotency_key)
        run_dir = self._runs_root(ctx, options) / name
        return build_plan(
            spec,
            run_dir=run_dir.as_posix(),
            job_name=name,
            job_hash=naming.spec_hash(spec, ctx.idempotency_key),
            options=options,
            spec_dir=ctx.spec_dir,
        )

    # -- submission ---------------------------------------------------------------
    def submit(self, plan: Plan, *, resume: bool = False) -> JobStatus:
        """Write the run dir and start its supervisor; an existing run is returned as it is.

        With ``resume``, an existing run that ended FAILED or CANCELLED is started
        again in the same directory: the trainer picks up its latest checkpoint.
        """
        if plan.provider != self.name:
            raise UsageError(
                f"this plan is for provider {plan.provider!r}, not 'local'",
                hint="plan it again with --provider local",
            )
        run = RunDir(plan.request["run_dir"])
        handle = JobHandle(provider=self.name, parts=(str(run.path),))
        if run.exists():
            return self._resume(run, handle, plan) if resume else self._existing(handle)
        resolved = resolve(plan.request, os.environ)
        stored, hidden = hide_credentials(plan)
        if not create_run_dir(run, stored.to_json(), resolved):
            return self._existing(handle)
        start_supervisor(run, hidden)
        return self._started(run, handle)

    def _started(self, run: RunDir, handle: JobHandle) -> JobStatus:
        deadline = time.monotonic() + _SUPERVISOR_START_WAIT
        while time.monotonic() < deadline:
            state = run.read_state() or {}
            if state.get("state") != st.PENDING:
                break
            time.sleep(0.05)
        return self.status(handle)

    def _resume(self, run: RunDir, handle: JobHandle, plan: Plan) -> JobStatus:
        """Start a FAILED or CANCELLED run again where it stopped (its checkpoints)."""
        run = RunDir(trusted_run(run.path))
        if observe(run)["state"] not in (st.FAILED, st.CANCELLED):
            return self._existing(handle)  # running, or succeeded: nothing to resume
        resolve(plan.request, os.environ)  # the secrets it needs are still exported
        _, hidden = hide_credentials(plan)
        won: list[bool] = []

        def restart(state: dict[str, Any]) -> None:
            if state.get("state") not in (st.FAILED, st.CANCELLED):
                return  # another resume won the race
            resumes = int(state.get("resumes") or 0) + 1
            state.update(
                new_state(run.name),
                resumes=resumes,
                message=f"resume {resumes} after {state.get('state')}: {state.get('message')}",
            )
            won.append(True)

        run.update_state(restart)
        if won:
            start_supervisor(run, hidden)
        return self._started(run, handle)

    def _existing(self, handle: JobHandle) -> JobStatus:
        current = self.status(handle)
        return current.model_copy(update={"extra": {**current.extra, "existing": True}})

    # -- following -----------------------------------------------------------------
    def _run(self, handle: JobHandle) -> RunDir:
        if handle.provider != self.name:
            raise UsageError(
                f"{handle} is not a local job handle",
                hint="local handles look like local:///path/to/runs/<job>",
            )
        run = RunDir(trusted_run(handle.parts[0]))
        if not (run.state_file.exists() or run.plan_file.exists()):
            raise JobNotFoundError(
                f"no local run at {run.path}",
                hint="`cloudgd list --provider local` shows the runs it knows",
            )
        return run

    def status(self, handle: JobHandle) -> JobStatus:
        run = self._run(handle)
        return to_status(run, observe(run), str(handle))

    def fetch_run_files(self, handle: JobHandle) -> Path:
        """The run's trainer output dir (where metrics.jsonl and summary.json are written)."""
        run = self._run(handle)
        try:
            artifacts = (run.request().get("layout") or {}).get("artifacts") or {}
        except (OSError, ValueError, KeyError):
            artifacts = {}
        return find_output_dir(run, artifacts)

    def reported_metrics(self, handle: JobHandle) -> JobReports | None:
        """What the run reports, from its plan.json (a run cloudgd created, as every
        handle is checked); None when that cannot be read."""
        from providers.local.script_run import reports_of_request

        run = self._run(handle)
        try:
            request = run.request()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return reports_of_request(request) if isinstance(request, dict) else None

    def download(
        self,
        handle: JobHandle,
        dest: Path,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> list[Path]:
        """Copy the run's model dir and output dir (metrics.jsonl, summary.json, ...)."""
        from cloudgd.download import check_free, copy_tree

        run = self._run(handle)
        try:
            artifacts = (run.request().get("layout") or {}).get("artifacts") or {}
        except (OSError, ValueError, KeyError):
            artifacts = {}
        sources = {
            "model": Path(artifacts.get("model_dir") or run.path / "model"),
            "output": find_output_dir(run, artifacts),
        }
        found = {part: folder for part, folder in sources.items() if folder.is_dir()}
        if not found:
            raise ProviderError(
                f"run {run.path} has no model or outputs yet",
                hint=f"the trainer writes them as it runs; see cloudgd status '{handle}'",
            )
        check_free(dest)
        written: list[Path] = []
        for part, folder in found.items():
            written += copy_tree(folder, dest, part, progress)
        return written

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        run = self._run(handle)
        return read_lines(
            run.job_log, follow=follow, done=lambda: st.to_job_state(observe(run)["state"]).terminal
        )

    def wait(
        self,
        handle: JobHandle,
        *,
        timeout: float | None = None,
        poll: float = 0.5,
        on_status: Callable[[JobStatus], None] | None = None,
    ) -> JobStatus:
        return super().wait(handle, timeout=timeout, poll=poll, on_status=on_status)

    def cancel(self, handle: JobHandle) -> JobStatus:
        """Ask the supervisor to stop the ranks (SIGTERM, grace, SIGKILL) and wait for it.

        If the supervisor is gone, do the same here. Cancelling an ended job
        changes nothing and returns its status.
        """
        run = self._run(handle)
        if observe(run)["state"] not in st.TERMINAL:
            stop_run(run)
        return self.status(handle)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        root = Path(default_runs_dir(self.runs_dir))
        if not root.is_dir():
            return []
        found = []
        for child in sorted(root.iterdir()):
            if child.name.startswith(".") or not is_run(child):
                continue
            if prefix and not child.name.startswith(prefix):
                continue
            found.append(_listed(RunDir(child)))
        found += _studies(root / "studies", prefix)
        return sorted(found, key=lambda s: (s.created_at is not None, s.created_at), reverse=True)

    # -- tuning (SupportsTuning): tuning.py plans a study, tuning_jobs.py runs it --------
    def plan_tuning(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        from providers.local.tuning import render_tuning

        return render_tuning(spec, ctx)

    def submit_tuning(
        self, plan: Plan, *, on_event: Callable[[str], None] | None = None
    ) -> JobStatus:
        from providers.local import tuning_jobs

        return tuning_jobs.submit_tuning(plan, on_event)

    def tuning_status(self, handle: JobHandle) -> JobStatus:
        from providers.local import tuning_jobs

        return tuning_jobs.tuning_status(handle)

    def tuning_logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        from providers.local import tuning_jobs

        return tuning_jobs.tuning_logs(handle, follow=follow)

    def cancel_tuning(self, handle: JobHandle) -> JobStatus:
        from providers.local import tuning_jobs

        return tuning_jobs.cancel_tuning(handle)

    @classmethod
    def trial_handle(cls, study: JobHandle, name: str) -> str:
        """A trial is a local run in the study's ``trials/`` directory."""
        from providers.local.study import TRIALS

        return str(JobHandle(provider=cls.name, parts=(f"{study.parts[0]}/{TRIALS}/{name}",)))


def _listed(run: RunDir) -> JobStatus:
    """One run's line in ``list``; a run that cannot be read says so instead of
    breaking the listing of every other run."""
    handle = f"local://{run.path}"
    try:
        return to_status(run, observe(run), handle)
    except (OSError, ValueError) as exc:
        return JobStatus(
            handle=handle,
            name=run.name,
            state=st.to_job_state(None),
            message=f"cannot read this run: {exc}",
        )


def _studies(root: Path, prefix: str | None) -> list[JobStatus]:
    """Local tuning studies (``<runs>/studies/<name>``) as studies, with tuning handles;
    their trials are runs of the study's own, listed by ``cloudgd status`` on it."""
    from providers.local.study import STATE, StudyDir, study_handle, study_status
    from providers.local.trust import STUDY_MARKER

    if not root.is_dir():
        return []
    return [
        study_status(StudyDir(child), study_handle(child))
        for child in sorted(root.iterdir())
        if (child / STATE).is_file()
        and (child / STUDY_MARKER).is_file()
        and (not prefix or child.name.startswith(prefix))
    ]

"""The Python API: plan, submit and follow jobs from a notebook, a pipeline task or a test.

    import cloudgd

    job = cloudgd.Job.from_yaml("examples/digits.yaml", overrides={"trainer.epochs": 1})
    run = job.submit("local", wait=True)   # the same code path as `cloudgd submit --wait`
    run.metrics()                          # the trainer's metrics.jsonl records
    run.download("digits-out")             # digits-out/model, digits-out/output

Errors are the exception types the CLI maps to exit codes (:mod:`cloudgd.errors`):
``SpecError`` (2) for a bad spec or argument, ``ProviderError`` (3) for the cloud,
``JobFailedError`` (4) for a waited-for job that failed, ``WaitTimeoutError`` (124).
Nothing here prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cloudgd import runner
from cloudgd.errors import UsageError
from cloudgd.loader import LoadedSpec, load_spec, validate_document
from cloudgd.plan import JobHandle, JobStatus, Plan
from cloudgd.preflight import preflight
from cloudgd.spec import JobSpec
from cloudgd.tuning.status import StudyStatus

if TYPE_CHECKING:
    from cloudgd.cost.estimate import Estimate
    from cloudgd.planning import Planned
    from providers.base import Provider

PYTHON_SOURCE = "<python>"
MetricsKind = Literal["all", "step", "epoch"]


def _override_texts(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    """``{"trainer.epochs": 1}`` or ``["trainer.epochs=1"]`` as ``--set`` texts.

    Values that are not strings are written as JSON (which YAML reads back unchanged),
    so ``{"trainer.model.hidden": [64, 32]}`` means a list, as it does in Python.
    """
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [
            f"{path}={value if isinstance(value, str) else json.dumps(value)}"
            for path, value in overrides.items()
        ]
    if isinstance(overrides, str):
        raise UsageError("overrides: give a mapping {'trainer.epochs': 1} or a list of PATH=VALUE")
    return list(overrides)


class Job:
    """A validated job spec, ready to plan, price and submit.

    ``Job(spec)`` takes a :class:`~cloudgd.spec.JobSpec` or a mapping shaped like a job
    file (``code:`` is then relative to ``base_dir``, default the working directory);
    :meth:`from_yaml` reads a job file. Either raises ``SpecError`` naming every problem.
    """

    def __init__(
        self,
        spec: JobSpec | Mapping[str, Any],
        *,
        base_dir: str | Path | None = None,
    ) -> None:
        self._file: Path | None = None
        self._overrides: list[str] = []
        self._document = None if isinstance(spec, JobSpec) else dict(spec)
        valid = spec if isinstance(spec, JobSpec) else validate_document(dict(spec), PYTHON_SOURCE)
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        self._loaded = LoadedSpec(spec=valid, source=PYTHON_SOURCE, base_dir=base.resolve())
        self._check_code_dir()

    @classmethod
    def from_yaml(
        cls, path: str | Path, overrides: Mapping[str, Any] | Sequence[str] | None = None
    ) -> Job:
        """Read a job file (YAML or JSON), with ``--set``-style overrides applied.

        ``overrides`` maps dotted field paths to values (``{"trainer.epochs": 1}``), or is
        a list of ``PATH=VALUE`` texts exactly as ``--set`` takes them.
        """
        texts = _override_texts(overrides)
        loaded = load_spec(path, texts)
        job = cls.__new__(cls)
        job._file, job._overrides, job._document, job._loaded = Path(path), texts, None, loaded
        return job

    def _check_code_dir(self) -> None:
        code_dir = self._loaded.code_dir
        if code_dir is not None and not code_dir.is_dir():
            raise UsageError(
                f"code: directory not found: {code_dir}",
                hint="code: is relative to base_dir (default: the working directory)",
            )
        # The same checks as `cloudgd validate`: a missing local data path, model.args.
        notes = preflight(self.spec, PYTHON_SOURCE, self._base_dir)
        self._loaded = replace(self._loaded, notes=tuple(notes))

    @property
    def spec(self) -> JobSpec:
        """The validated spec (overrides applied)."""
        return self._loaded.spec

    @property
    def name(self) -> str:
        """The spec's ``name:``."""
        return self.spec.name

    def validate(self) -> JobSpec:
        """Check the spec again, as ``cloudgd validate`` does (a job file is re-read, so
        edits since :meth:`from_yaml` count); SpecError on any problem."""
        if self._file is not None:
            self._loaded = load_spec(self._file, self._overrides)
        elif self._document is not None:
            spec = validate_document(self._document, PYTHON_SOURCE)
            self._loaded = LoadedSpec(spec=spec, source=PYTHON_SOURCE, base_dir=self._base_dir)
            self._check_code_dir()
        return self.spec

    @property
    def _base_dir(self) -> Path:
        return self._loaded.base_dir

    def _planned(
        self,
        provider: str,
        backend: str | None,
        *,
        endpoint: str | None = None,
        idempotency_key: str | None = None,
        run_local: bool = False,
    ) -> Planned:
        options: dict[str, Any] = {
            "idempotency_key": idempotency_key,
            "backend": backend or "cloud",
            "endpoint": endpoint,
            "run_local": run_local,
        }
        if self._file is not None:
            return runner.plan(self._file, provider, overrides=self._overrides, **options)
        return runner.plan(self._loaded, provider, **options)

    def plan(
        self,
        provider: str,
        backend: str | None = None,
        *,
        endpoint: str | None = None,
        idempotency_key: str | None = None,
    ) -> Plan:
        """The exact request ``submit`` would send, as ``cloudgd plan`` prints it
        (credential-looking ``env`` values hidden). Creates nothing.

        ``backend`` is ``None``/``"cloud"`` for the real service or a rehearsal backend
        (``"moto"`` for aws, ``"fake"`` for gcp and azure).
        """
        planned = self._planned(
            provider, backend, endpoint=endpoint, idempotency_key=idempotency_key
        )
        return planned.shown

    def cost(self, provider: str | None = None) -> list[Estimate]:
        """Catalog estimates (time, price, carbon) of running this job on ``provider``, or
        on each cloud that has a machine for it when ``provider`` is None."""
        from cloudgd import registry
        from cloudgd.cost.estimate import estimate_for_spec
        from cloudgd.errors import SpecError

        if provider is not None:
            return [estimate_for_spec(self.spec, provider)]
        found = []
        for cloud in registry.cloud_names():
            try:
                found.append(estimate_for_spec(self.spec, cloud))
            except SpecError:  # no machine in the catalog fits this spec there
                continue
        return found

    def submit(
        self,
        provider: str,
        backend: str | None = None,
        wait: bool = False,
        *,
        timeout: float | str | None = None,
        endpoint: str | None = None,
        idempotency_key: str | None = None,
        run_local: bool = False,
        poll: float | None = None,
    ) -> Run:
        """Create the job (or attach to the same spec's job already there) and return its Run.

        The budget gate (``limits.max_cost_usd``) runs first, as for ``cloudgd submit``.
        With ``wait`` the call returns once the job ended, raising ``JobFailedError`` if it
        failed or was cancelled (see :meth:`Run.wait` for ``timeout`` and ``poll``).
        """
        planned = self._planned(
            provider,
            backend,
            endpoint=endpoint,
            idempotency_key=idempotency_key,
            run_local=run_local,
        )
        submitted = runner.submit(planned, explicit_key=idempotency_key, run_local=run_local)
        run = Run(submitted.provider, submitted.handle, name=submitted.planned.plan.job_name)
        if wait:
            run.wait(timeout=timeout, poll=poll)
        return run

    def tune(
        self,
        provider: str,
        backend: str | None = None,
        wait: bool = False,
        *,
        timeout: float | str | None = None,
        endpoint: str | None = None,
        idempotency_key: str | None = None,
        poll: float | None = None,
    ) -> Study:
        """Run the spec's ``tuning:`` search, as ``cloudgd tune`` does → the :class:`Study`.

        ``local`` runs the study here with Optuna and returns once it ended (each trial a
        real local run); a cloud study is submitted (SageMaker tuning job, Vertex AI
        HyperparameterTuningJob, Azure ML sweep) and, with ``wait``, followed to its end.
        The budget covers the whole study. SpecError when the spec has no ``tuning:``.
        """
        planned = self._planned(
            provider, backend, endpoint=endpoint, idempotency_key=idempotency_key
        )
        study = Study.from_handle(runner.tune(planned).status.handle)
        if wait:
            study.wait(timeout=timeout, poll=poll)
        return study

    def __repr__(self) -> str:
        where = f", file={str(self._file)!r}" if self._file else ""
        return f"Job(name={self.name!r}{where})"


class Run:
    """A submitted job, followed from its handle alone (no local database).

    :meth:`Job.submit` returns one; :meth:`from_handle` reconnects in another process.
    """

    def __init__(self, provider: Provider, handle: JobHandle, *, name: str | None = None) -> None:
        self._provider = provider
        self._handle = handle
        self._name = name

    @classmethod
    def from_handle(cls, handle: str | JobHandle) -> Run:
        """The run behind a handle (``aws://us-east-1/job?...``, ``local:///path``, or a local
        run's directory or name), as ``cloudgd status HANDLE`` finds it."""
        provider, parsed = runner.open_handle(handle)
        return cls(provider, parsed)

    @property
    def handle(self) -> str:
        """The job's handle URI: pass it to ``cloudgd status``/``logs``/... or
        :meth:`from_handle`."""
        return str(self._handle)

    @property
    def provider(self) -> str:
        """The provider's name: local, aws, gcp, azure or a plug-in."""
        return self._provider.name

    def status(self) -> JobStatus:
        """The job's current status (state, times, exit code, final metrics)."""
        return self._provider.status(self._handle)

    def logs(self, follow: bool = False) -> Iterator[str]:
        """The job's log lines (no trailing newlines); with ``follow``, until it ends."""
        for line in self._provider.logs(self._handle, follow=follow):
            yield line.rstrip("\n")

    def wait(
        self,
        timeout: float | str | None = None,
        *,
        poll: float | None = None,
        check: bool = True,
    ) -> JobStatus:
        """Block until the job ends; its final status.

        ``timeout`` is seconds or a duration text (``"90s"``, ``"10m"``); when it passes
        first, ``WaitTimeoutError`` is raised (the job keeps running). With ``check``
        (the default) a job that failed or was cancelled raises ``JobFailedError``.
        """
        seconds = _seconds(timeout)
        status = runner.wait(self._provider, self._handle, timeout=seconds, poll=poll)
        if check:
            runner.check_outcome(status)
        runner.check_finished(status, timeout_text=f"timeout={timeout!r}")
        return status

    def cancel(self) -> JobStatus:
        """Stop the job; a no-op (returning its status) for a job that already ended."""
        return self._provider.cancel(self._handle)

    def metrics(self, kind: MetricsKind = "all", *, dataframe: bool = False) -> Any:
        """The trainer's metric records (``metrics.jsonl``), ordered by step.

        ``kind`` picks ``"step"`` records (loss, lr, grad_norm, samples/s), ``"epoch"``
        records (validation metrics) or ``"all"``. A list of dicts, or with
        ``dataframe=True`` a pandas DataFrame (pandas must be installed). Cloud runs'
        files are fetched from the job's output location, as ``cloudgd report`` does.
        """
        from cloudgd.report.runfiles import load_run

        data = load_run(self._provider.fetch_run_files(self._handle), self.name, where=self.handle)
        chosen = {"step": data.steps, "epoch": data.epochs, "all": data.steps + data.epochs}
        if kind not in chosen:
            raise UsageError(f"metrics(kind={kind!r}): choose 'all', 'step' or 'epoch'")
        records = sorted(chosen[kind], key=lambda r: (r["step"], r.get("kind") == "epoch"))
        if not dataframe:
            return [dict(record) for record in records]
        try:
            import pandas
        except ImportError:
            raise UsageError(
                "metrics(dataframe=True) needs pandas, which is not installed",
                hint="pip install pandas, or call metrics() for a list of dicts",
            ) from None
        return pandas.DataFrame.from_records(records)

    def download(self, dest: str | Path | None = None) -> Path:
        """Copy the job's model to ``dest/model`` and its metrics and outputs to
        ``dest/output`` (default ``dest``: ``./<job name>``); the folder.

        Refuses (``UsageError``) to write over an existing ``model`` or ``output`` there.
        """
        folder, _files = runner.download(self._provider, self._handle, dest)
        return folder

    @property
    def name(self) -> str:
        """The job's name."""
        return self._name or Path(self._handle.job).name

    def __repr__(self) -> str:
        return f"Run({self.handle!r})"


def _seconds(timeout: float | str | None) -> float | None:
    if timeout is None or isinstance(timeout, int | float):
        return timeout
    from cloudgd.durations import parse_duration

    try:
        return float(parse_duration(timeout))
    except ValueError as error:
        raise UsageError(f"timeout: {error}") from None


class Study(Run):
    """A tuning study, followed from its handle: a :class:`Run` whose status carries every
    trial and the best one (a :class:`~cloudgd.tuning.status.StudyStatus` in ``extra``),
    with shortcuts for both."""

    @classmethod
    def from_handle(cls, handle: str | JobHandle) -> Study:
        """The study behind a handle (``?kind=tuning`` is added when missing)."""
        from cloudgd.tuning.handle import as_tuning

        parsed = runner.parse_handle(handle) if isinstance(handle, str) else handle
        provider, study = runner.open_handle(as_tuning(parsed))
        return cls(provider, study)

    def trials(self) -> list[dict[str, Any]]:
        """One dict per trial: number, state, parameter values, metric value, handle."""
        study = StudyStatus.of(self.status())
        rows = (study.trials if study else None) or []
        return [trial.model_dump(exclude_unset=True) for trial in rows]

    def best(self) -> dict[str, Any] | None:
        """The best finished trial (its parameters and metric value), or None yet."""
        study = StudyStatus.of(self.status())
        return study.best.model_dump(exclude_unset=True) if study and study.best else None

    def best_run(self) -> Run | None:
        """The best finished trial as a Run (for its metrics and model), or None yet."""
        from cloudgd.tuning.trials import trial_handles

        handles = trial_handles(self.status())
        return Run.from_handle(handles[0]) if handles else None

    def __repr__(self) -> str:
        return f"Study({self.handle!r})"


def tune(
    job: Job | str | Path,
    provider: str,
    backend: str | None = None,
    wait: bool = False,
    *,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    **options: Any,
) -> Study:
    """``cloudgd tune FILE -p PROVIDER`` from Python: :meth:`Job.tune` of a Job or job file."""
    chosen = job if isinstance(job, Job) else Job.from_yaml(job, overrides=overrides)
    if overrides and isinstance(job, Job):
        raise UsageError("overrides apply to a job file; pass them to Job.from_yaml")
    return chosen.tune(provider, backend, wait, **options)

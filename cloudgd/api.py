"""The Python API: plan, submit and follow jobs from a notebook, a pipeline task or a test.

    import cloudgd

    job = cloudgd.Job.from_yaml("examples/digits.yaml", overrides={"trainer.epochs": 1})
    run = job.submit("local", wait=True)   # the same code path as `cloudgd submit --wait`
    run.metrics()                          # the trainer's metrics.jsonl records
    run.download("digits-out")             # digits-out/model, digits-out/output

:class:`Job` (a validated spec) and :func:`tune` are here; the :class:`Run` and
:class:`Study` they return, followed from a handle alone, are in :mod:`cloudgd.api_runs`.

Errors are the exception types the CLI maps to exit codes (:mod:`cloudgd.errors`):
``SpecError`` (2) for a bad spec or argument, ``ProviderError`` (3) for the cloud,
``JobFailedError`` (4) for a waited-for job that failed, ``WaitTimeoutError`` (124).
Nothing here prints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudgd import runner
from cloudgd.api_runs import Run, Study
from cloudgd.errors import UsageError
from cloudgd.loader import LoadedSpec, load_spec, validate_document
from cloudgd.plan import Plan
from cloudgd.preflight import preflight
from cloudgd.spec import JobSpec

if TYPE_CHECKING:
    from cloudgd.cost.estimate import Estimate
    from cloudgd.planning import Planned

__all__ = ["Job", "Run", "Study", "tune"]

PYTHON_SOURCE = "<python>"


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

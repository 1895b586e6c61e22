"""The Python API's followed jobs: :class:`Run` (a submitted job) and :class:`Study` (a
tuning study), each reconnected from its handle alone (no local database).

:meth:`cloudgd.Job.submit` and :meth:`cloudgd.Job.tune` return them; ``from_handle``
reconnects in another process. Both go through :mod:`cloudgd.runner`, as the CLI's
``status``, ``logs``, ``wait``, ``cancel`` and ``download`` do. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cloudgd import runner
from cloudgd.errors import UsageError
from cloudgd.plan import JobHandle, JobStatus
from cloudgd.tuning.status import StudyStatus

if TYPE_CHECKING:
    from providers.base import Provider

MetricsKind = Literal["all", "step", "epoch"]


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

"""What a job reports (its metric names), recorded at submit so gates on a handle can be
checked before waiting.

``cloudgd submit --wait --min-metric NAME=V`` knows the spec, so it knows the names:
the built-in trainer's, or a script job's ``script.metrics`` (any name when the script
writes a metrics file). ``cloudgd wait HANDLE`` has only the handle, so it asks, in order:

1. the provider (:meth:`providers.base.Provider.reported_metrics`): the local provider
   reads its run directory (only a run cloudgd created, :mod:`providers.local.trust`), so
   does any cloud rehearsal run here; a plug-in may answer from its own service;
2. the record ``submit`` (and ``tune``) wrote for every provider under
   ``$CLOUDGD_HOME/jobs/``, named by a hash of the job's address, never by a path the
   handle carries;
3. nothing: a handle from another machine or an older cloudgd. Then any name a job
   could report (every name without control characters: a script's metrics file may hold
   any) is accepted, with a note on stderr, and the finished job's metrics decide: a
   metric it did not report fails the gate (exit 4, naming what it did report). See
   :func:`check_gate_names`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from collections.abc import Sequence
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloudgd.ci.gates import MetricGate
from cloudgd.errors import CloudgdError, UsageError
from cloudgd.plan import JobHandle

if TYPE_CHECKING:
    from cloudgd.spec import JobSpec
    from providers.base import Provider

RECORD_VERSION = 1
KEEP_RECORDS = 2000  # newest records kept in $CLOUDGD_HOME/jobs; older ones are pruned
_RECORD_NAME = re.compile(r"^[0-9a-f]{40}\.json$")
# What the script launcher's summary.json holds besides the collected metrics
# (trainers/script_metrics.py, Collector.finish).
SCRIPT_NUMBERS = ("epochs", "exit_code", "wall_time_s", "world_size")


class JobReports(BaseModel):
    """The metric names a job reports: what a gate on it may check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runner: Literal["trainer", "script"] = Field(
        description="trainer: the built-in trainer; script: the job's own script."
    )
    metrics: tuple[str, ...] = Field(
        description="Metrics it reports (the trainer's, or what script.metrics.regex collects)."
    )
    numbers: tuple[str, ...] = Field(
        description="Run numbers of its summary.json (steps, wall_time_s, ...)."
    )
    any_name: bool = Field(
        default=False,
        description="True when the script writes a metrics file (script.metrics.file): "
        "any name may appear, so no gate name is refused.",
    )

    @classmethod
    def of(cls, spec: JobSpec) -> JobReports:
        """What a job of ``spec`` reports."""
        if spec.script is None:
            return cls.trainer()
        metrics = spec.script.metrics
        return cls.script(sorted(metrics.regex), any_name=metrics.file is not None)

    @classmethod
    def trainer(cls) -> JobReports:
        """The built-in trainer's metrics and summary numbers."""
        from trainers.config import REPORTED_METRICS, SUMMARY_NUMBERS

        return cls(runner="trainer", metrics=REPORTED_METRICS, numbers=SUMMARY_NUMBERS)

    @classmethod
    def script(cls, names: Sequence[str], *, any_name: bool) -> JobReports:
        """A script job collecting ``names`` (and, with ``any_name``, a metrics file)."""
        return cls(runner="script", metrics=tuple(names), numbers=SCRIPT_NUMBERS, any_name=any_name)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a gate may check."""
        return self.metrics + self.numbers


# -- the submit-time record -------------------------------------------------------


def _address(handle: JobHandle) -> str:
    """The job's address without its query: a rehearsal's endpoint port, ``backend=`` or
    ``run=`` do not change which job (and so which spec) it is."""
    return str(JobHandle(provider=handle.provider, parts=handle.parts))


def record_path(handle: JobHandle) -> Path:
    """Where the record of ``handle``'s job lives: a hash, so no handle steers the path."""
    from cloudgd.home import home

    digest = hashlib.sha256(_address(handle).encode("utf-8", "surrogatepass")).hexdigest()
    return home() / "jobs" / f"{digest[:40]}.json"


def record(handle: JobHandle | str, reports: JobReports) -> Path | None:
    """Write what ``handle``'s job reports; the file, or None when it cannot be written
    (a read-only home must not fail the submit: gates then fall back as for a handle from
    another machine)."""
    try:
        parsed = JobHandle.parse(handle) if isinstance(handle, str) else handle
        document = {
            "version": RECORD_VERSION,
            "created_by": "cloudgd",
            "job": _address(parsed),
            "reports": reports.model_dump(mode="json"),
        }
        path = record_path(parsed)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(document, sort_keys=True) + "\n", encoding="utf-8")
            tmp.replace(path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    except (OSError, CloudgdError):
        return None
    with contextlib.suppress(OSError):  # another process pruning at the same time
        prune_records(path.parent)
    return path


def prune_records(folder: Path, keep: int = KEEP_RECORDS) -> None:
    """Delete all but the ``keep`` newest records in ``folder``; only files named like
    cloudgd's records are considered, anything else there is left alone. A job whose
    record is gone is gated as one submitted elsewhere (see the module)."""
    ours = [p for p in folder.iterdir() if _RECORD_NAME.match(p.name) and _is_file(p)]
    if len(ours) <= keep:
        return
    ours.sort(key=lambda p: p.lstat().st_mtime, reverse=True)
    for old in ours[keep:]:
        old.unlink(missing_ok=True)


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)  # a symlink is not one cloudgd wrote
    except OSError:
        return False


def recorded(handle: JobHandle) -> JobReports | None:
    """The record :func:`record` wrote for ``handle``'s job; None when there is none (or it
    is not one cloudgd wrote for this job)."""
    try:
        path = record_path(handle)
        if not _is_file(path):  # none, or a symlink planted in its place
            return None
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, CloudgdError):
        return None
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
        return None
    if data.get("created_by") != "cloudgd" or data.get("job") != _address(handle):
        return None
    try:
        return JobReports.model_validate(data.get("reports"))
    except ValidationError:
        return None


def reports_for(provider: Provider, handle: JobHandle) -> JobReports | None:
    """What ``handle``'s job reports: the provider's answer, else the submit-time record."""
    return provider.reported_metrics(handle) or recorded(handle)


# -- checking gate names ----------------------------------------------------------


def check_gate_names(gates: Sequence[MetricGate], reports: JobReports | None) -> list[str]:
    """Refuse (UsageError, exit 2) a gate on a name the job never reports, before it runs
    or is waited for: such a gate can only fail, after the job has trained.

    With ``reports`` None (nothing recorded) every name is accepted and checked on the
    finished job; the lines returned say so, for stderr (none for a name the trainer
    reports).
    """
    notes: list[str] = []
    for gate in gates:  # MetricGate.parse already refused names no job could report
        if reports is None:
            notes.extend(_unrecorded(gate))
        else:
            _check_known(gate, reports)
    return notes


def _check_known(gate: MetricGate, reports: JobReports) -> None:
    flag = f"--{gate.bound}-metric {gate.metric}"
    if gate.metric in reports.names or reports.any_name:
        return
    close = get_close_matches(gate.metric, reports.names, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    if reports.runner == "script":
        raise UsageError(
            f"{flag}: script.metrics collects no such metric{guess}",
            hint="the script's metrics: " + ", ".join(reports.names),
        )
    raise UsageError(
        f"{flag}: the trainer reports no such metric{guess}",
        hint="the trainer reports "
        + ", ".join(reports.metrics)
        + "; gates may also check the run's "
        + ", ".join(reports.numbers),
    )


def _unrecorded(gate: MetricGate) -> list[str]:
    trainer = JobReports.trainer()
    if gate.metric in trainer.names:
        return []
    close = get_close_matches(gate.metric, trainer.names, n=1)
    guess = f" (if it runs the built-in trainer: did you mean {close[0]!r}?)" if close else ""
    return [
        f"--{gate.bound}-metric {gate.metric}: no record here of what this job reports "
        f"(submitted from another machine or an older cloudgd); the gate is checked on the "
        f"finished job's metrics{guess}"
    ]

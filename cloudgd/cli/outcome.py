"""How ``submit`` and ``wait`` end: final metrics, cost, metric gates, the GitHub
step summary, and the exit code CI acts on (0 ok, 4 job failed or gate missed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cloudgd import registry
from cloudgd.ci.environment import detect
from cloudgd.ci.gates import GateResult, MetricGate, check_gates, parse_gates
from cloudgd.ci.result import JobResult, build_result, headline_metrics
from cloudgd.ci.summary import append_step_summary, cost_text
from cloudgd.cli.output import note
from cloudgd.errors import CloudgdError, JobFailedError, UsageError
from cloudgd.plan import JobHandle, JobState, JobStatus

if TYPE_CHECKING:
    from cloudgd.ci.reported import JobReports
    from cloudgd.cost.estimate import Estimate
    from cloudgd.spec import JobSpec
    from providers.base import Provider


def gates_from_flags(
    minimums: Sequence[str], maximums: Sequence[str], *, waits: bool
) -> list[MetricGate]:
    """Parse ``--min-metric``/``--max-metric``; they only mean something when waiting.

    Their names are checked by :func:`check_gate_names` once the command knows what the
    job reports (submit from the spec, wait from the handle).
    """
    gates = parse_gates(minimums, maximums)
    if gates and not waits:
        raise UsageError(
            f"{gates[0].flag} needs --wait or --follow: a gate checks the finished job",
            hint="add --wait, or run `cloudgd wait HANDLE --min-metric ...` later",
        )
    return gates


def check_gate_names(gates: Sequence[MetricGate], reports: JobReports | None) -> None:
    """Refuse (exit 2) a gate on a metric the job never reports, before any job runs or
    is waited for (:func:`cloudgd.ci.reported.check_gate_names`); with nothing recorded
    about the job, say on stderr that the finished job's metrics decide."""
    from cloudgd.ci.reported import check_gate_names as check

    for line in check(gates, reports):
        note(f"note: {line}")


def estimate_or_none(spec: JobSpec, provider: str) -> Estimate | None:
    """The catalog estimate on a cloud; None locally or where the catalog has no price."""
    if not registry.is_cloud(provider):
        return None
    from cloudgd.cost.estimate import estimate_for_spec

    try:
        return estimate_for_spec(spec, provider)
    except CloudgdError:  # no catalog row for this machine/region: cost stays unknown
        return None


def with_summary_metrics(
    provider: Provider, handle: JobHandle, status: JobStatus, gates: Sequence[MetricGate]
) -> JobStatus:
    """The status plus the trainer's summary.json metrics, when a gate needs a metric
    the cloud's status does not carry (Vertex and Azure ML report no final metrics).

    A summary that cannot be read leaves the status as it is: the gate then fails
    with "the job reported no ...", never passes unchecked.
    """
    missing = [g.metric for g in gates if g.metric not in status.metrics]
    if not missing or status.state is not JobState.SUCCEEDED:
        return status
    from cloudgd.report.runfiles import SUMMARY_NAME, summary_metrics

    try:
        folder = provider.fetch_run_files(handle)
    except CloudgdError as error:
        note(f"could not read the job's {SUMMARY_NAME} for {', '.join(missing)}: {error}")
        return status
    metrics = {**summary_metrics(folder / SUMMARY_NAME), **status.metrics}
    return status.model_copy(update={"metrics": metrics})


def job_result(
    status: JobStatus,
    *,
    provider: str,
    backend: str,
    gates: Sequence[MetricGate] = (),
    estimate: Estimate | None = None,
    job_name: str | None = None,
    attached: bool = False,
) -> JobResult:
    """The status joined with cost, gate results and the CI run link."""
    run = detect(os.environ)
    checked = check_gates(gates, status.metrics) if status.state.terminal else []
    return build_result(
        status,
        provider=provider,
        backend=backend,
        job_name=job_name,
        estimate=estimate,
        gates=checked,
        ci_run_url=run.url if run else None,
        attached=attached,
    )


def print_final(result: JobResult, *, metrics: bool = True) -> None:
    """Final metrics, cost and gate verdicts for people, on stderr."""
    if metrics and result.metrics:
        shown = headline_metrics(result.metrics)
        width = max(len(name) for name in shown)
        note("final metrics:")
        for name, value in sorted(shown.items()):
            note(f"  {name.ljust(width)}  {value:.6g}")
    if result.cost is not None:
        note(f"estimated cost: {cost_text(result.cost, result.provider)}")
    note_passed_gates(result.gates, result.metrics)


def note_passed_gates(gates: Sequence[GateResult], metrics: Mapping[str, float]) -> None:
    """A ``gate passed:`` line on stderr for each gate met."""
    for gate in gates:
        if gate.passed:
            note(f"gate passed: {gate.line(metrics)}")


def raise_missed_gates(
    gates: Sequence[GateResult], metrics: Mapping[str, float], *, hint: str
) -> None:
    """Exit 4 (JobFailedError) naming every gate missed; nothing when all were met."""
    failed = [g for g in gates if not g.passed]
    if failed:
        lines = "; ".join(g.line(metrics) for g in failed)
        raise JobFailedError(f"gate failed: {lines}", hint=hint)


def enforce(result: JobResult, *, waited: bool) -> None:
    """Exit 4 when a waited-for job failed, or when it missed a gate."""
    if not waited:
        return
    from cloudgd.cli.handles import check_outcome

    status = JobStatus(
        handle=result.handle, name=result.job_name, state=result.state, message=result.message
    )
    check_outcome(status)
    hint = f"the job succeeded but the model misses the gate; see cloudgd status '{result.handle}'"
    unreported = [g.gate.metric for g in result.gates if g.value is None]
    if unreported:
        hint = unreported_hint(unreported, result.metrics)
    raise_missed_gates(result.gates, result.metrics, hint=hint)


def unreported_hint(names: Sequence[str], reported: Mapping[str, float]) -> str:
    """How to fix a gate on a metric the finished job did not report."""
    from difflib import get_close_matches

    close = [m for name in names for m in get_close_matches(name, list(reported), n=1)]
    guess = f"did you mean {close[0]!r}? " if len(names) == 1 and close else ""
    return (
        f"{guess}gate on a metric the job reports (a script job reports what its "
        "script.metrics collect)"
    )


def finish(result: JobResult, *, waited: bool, show_metrics: bool = True) -> None:
    """Write the step summary, print the final lines on stderr, then enforce."""
    try:
        append_step_summary(result)
    except OSError as error:  # a summary that cannot be written must not fail the job
        note(f"warning: could not append to $GITHUB_STEP_SUMMARY: {error}")
    if waited:
        print_final(result, metrics=show_metrics)
    enforce(result, waited=waited)

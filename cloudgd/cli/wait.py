"""``cloudgd wait HANDLE``: block until a job ends; exit 4 if it failed or was cancelled."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from cloudgd.cli.options import gate_options, handle_argument, output_option, poll_option

if TYPE_CHECKING:
    from cloudgd.plan import JobState, JobStatus


def waiter(first: JobState | None = None) -> Callable[[JobStatus], None]:
    """An on_status callback printing each state change to stderr."""
    from cloudgd.cli.output import note

    last: list[JobState | None] = [first]

    def on_status(status: JobStatus) -> None:
        if status.state != last[0]:
            raw = f" ({status.raw_state})" if status.raw_state else ""
            note(f"{status.name}: {status.state.value}{raw}")
            last[0] = status.state

    return on_status


def study_waiter(first: JobStatus | None = None) -> Callable[[JobStatus], None]:
    """The on_status callback for a tuning study: a line on stderr whenever its state or
    its trial counts move (``digits-tune: RUNNING (trials: 2 RUNNING, 3 SUCCEEDED)``)."""
    from cloudgd.cli.output import note
    from cloudgd.cli.trials_view import counts_text
    from cloudgd.tuning.status import StudyStatus

    def seen(status: JobStatus) -> tuple[JobState, dict[str, int]]:
        study = StudyStatus.of(status)
        return status.state, dict(study.trial_counts) if study else {}

    last: list[tuple[JobState, dict[str, int]] | None] = [seen(first) if first else None]

    def on_status(status: JobStatus) -> None:
        now = seen(status)
        if now != last[0]:
            counts = counts_text(now[1])
            note(
                f"{status.name}: {status.state.value}" + (f" (trials: {counts})" if counts else "")
            )
            last[0] = now

    return on_status


@click.command()
@output_option
@handle_argument
@click.option(
    "--timeout",
    metavar="DURATION",
    default=None,
    help="Give up after this long (90s, 10m, 6h) and exit 124; the job keeps running.",
)
@gate_options
@poll_option
def command(
    handle: str,
    timeout: str | None,
    poll: float | None,
    min_metrics: tuple[str, ...],
    max_metrics: tuple[str, ...],
) -> None:
    """Wait for a job to end (exit 4 if it failed or missed a gate).

    Exit 0 when it succeeded (and met every --min-metric/--max-metric gate), 4
    when it failed, was cancelled or missed a gate, 124 when --timeout passed
    first (the job keeps running).
    """
    from cloudgd import runner
    from cloudgd.ci.reported import reports_for
    from cloudgd.cli.options import settings
    from cloudgd.cli.outcome import (
        check_gate_names,
        finish,
        gates_from_flags,
        job_result,
        with_summary_metrics,
    )
    from cloudgd.cli.output import emit_json, human_console, render_status, status_document
    from cloudgd.durations import parse_duration
    from cloudgd.errors import UsageError

    try:
        seconds = None if timeout is None else parse_duration(timeout)
    except ValueError as error:
        raise UsageError(f"--timeout: {error}") from None
    gates = gates_from_flags(min_metrics, max_metrics, waits=True)
    provider, parsed = runner.open_handle(handle)
    if gates:  # a script job's names are its own: learnt from its run or submit's record
        check_gate_names(gates, reports_for(provider, parsed))
    from cloudgd.tuning.handle import is_tuning

    progress = study_waiter() if is_tuning(parsed) else waiter()
    status = runner.wait(provider, parsed, timeout=seconds, poll=poll, on_status=progress)
    backend = parsed.params.get("backend", "cloud")
    status = with_summary_metrics(provider, parsed, status, gates)
    result = job_result(status, provider=provider.name, backend=backend, gates=gates)
    if settings().json:
        checked = {"gates": [g.model_dump(mode="json") for g in result.gates]}
        extra = {**checked, "passed": result.passed} if gates else {}
        emit_json({**status_document(status), **extra})
    else:
        render_status(human_console(), status)
    finish(result, waited=status.state.terminal, show_metrics=settings().json)
    runner.check_finished(status, timeout_text=f"--timeout {timeout}")

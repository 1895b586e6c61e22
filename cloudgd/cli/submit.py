"""``cloudgd submit FILE --provider P``: create the job (or only plan it with --dry-run)."""

from __future__ import annotations

import click

from cloudgd.cli.options import backend_options, gate_options, planning_options, poll_option


@click.command()
@planning_options
@backend_options
@click.option(
    "--run-local",
    is_flag=True,
    help="With a rehearsal backend: also run the job here, as the cloud's container runs it "
    "(aws: Amazon's own toolkit when installed, else an emulation).",
)
@click.option(
    "--data-from",
    metavar="PATH",
    type=click.Path(exists=True),
    default=None,
    help="First upload this local file or directory to trainer.data.uri (e.g. the "
    "rehearsal bucket), so the job reads it through its cloud path.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Plan only: show what would be sent, send nothing; exit 2 where submit would refuse.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Local runs: if this job already ran and ended FAILED or CANCELLED, start it again "
    "in the same run directory; the trainer resumes from its latest checkpoint.",
)
@click.option("--wait", is_flag=True, help="Wait until the job ends; exit 4 if it fails.")
@click.option(
    "--follow", "-f", is_flag=True, help="Stream the logs until the job ends (implies --wait)."
)
@gate_options
@poll_option
def command(
    file: str,
    provider: str,
    overrides: tuple[str, ...],
    idempotency_key: str | None,
    backend: str,
    endpoint: str | None,
    run_local: bool,
    data_from: str | None,
    dry_run: bool,
    resume: bool,
    wait: bool,
    follow: bool,
    poll: float | None,
    min_metrics: tuple[str, ...],
    max_metrics: tuple[str, ...],
) -> None:
    """Submit a job and print its handle.

    Job names are deterministic (spec hash + idempotency key): submitting the same
    spec again attaches to the existing job instead of starting a second one.
    In CI the key defaults to commit-run-attempt, and a re-run attaches to the job
    an earlier attempt started unless that job failed.
    --follow and --wait exit 4 when the job fails or is cancelled, or when it
    misses a --min-metric/--max-metric gate.
    """
    from cloudgd import runner
    from cloudgd.ci.reported import JobReports
    from cloudgd.cli.options import settings
    from cloudgd.cli.outcome import (
        check_gate_names,
        estimate_or_none,
        finish,
        gates_from_flags,
        job_result,
        with_summary_metrics,
    )
    from cloudgd.cli.output import emit_json, human_console, note, render_plan, status_document
    from cloudgd.planning import budget_gate

    json_mode = settings().json
    if resume and (run_local or not _resumable(provider)):
        from cloudgd.errors import UsageError

        raise UsageError(
            "--resume restarts local runs (--provider local)",
            hint="cloud jobs resume from checkpoints through scaling.restarts and spot retries",
        )
    gates = gates_from_flags(min_metrics, max_metrics, waits=wait or follow or dry_run)
    planned = runner.plan(
        file,
        provider,
        overrides=overrides,
        idempotency_key=idempotency_key,
        backend=backend,
        endpoint=endpoint,
        run_local=run_local,
    )
    check_gate_names(gates, JobReports.of(planned.loaded.spec))
    if dry_run:
        if json_mode:
            document = {"dry_run": True, "handle": planned.plan.handle, "state": None}
            emit_json({**document, "plan": planned.shown.model_dump(mode="json")})
        else:
            render_plan(human_console(), planned.shown)
            note("dry run: nothing was submitted")
        # CI gates on dry runs: exit as the real submit would (2 when it refuses).
        budget_gate(planned)
        if data_from:
            note(f"dry run: {data_from} was not uploaded")
        return

    submitted = runner.submit(
        planned,
        explicit_key=idempotency_key,
        run_local=run_local,
        data_from=data_from,
        resume=resume,
        notify=note,
    )
    planned, status, handle = submitted.planned, submitted.status, submitted.handle
    chosen, plan, attached = planned.provider, planned.plan, submitted.attached
    ended = status.state.value in ("FAILED", "CANCELLED")
    if ended and status.extra.get("existing") and chosen.resumable and not resume:
        note(
            f"this job already ran and ended {status.state.value}; "
            "add --resume to start it again from its checkpoints"
        )
    note(f"submitted {plan.job_name} to {chosen.name}: {status.state.value}")
    if not json_mode:
        click.echo(str(handle))
    if not (wait or follow):
        note(f"follow it: cloudgd logs --follow '{handle}'")
    elif follow:
        from cloudgd.cli.follow import follow_job

        status = follow_job(
            chosen,
            handle,
            name=status.name,
            total_epochs=None if planned.loaded.spec.script else planned.loaded.spec.trainer.epochs,
            to_stderr=json_mode,
        )
    else:
        from cloudgd.cli.wait import waiter

        status = runner.wait(chosen, handle, poll=poll, on_status=waiter(status.state))
    if follow:  # --wait already printed each state change, the last one included
        reason = f" ({status.message})" if status.message else ""
        note(f"{status.name}: {status.state.value}{reason}")
    status = with_summary_metrics(chosen, handle, status, gates)
    result = job_result(
        status.model_copy(update={"handle": str(handle)}),
        provider=chosen.name,
        backend=chosen.backend,
        gates=gates,
        estimate=estimate_or_none(planned.loaded.spec, chosen.name),
        job_name=plan.job_name,
        attached=attached,
    )
    if json_mode:
        emit_json({**result.document(), "status": status_document(status)})
    finish(result, waited=wait or follow)


def _resumable(provider: str) -> bool:
    """Whether ``provider`` can start an ended run again (``Provider.resumable``)."""
    from cloudgd import registry

    cls = registry.provider_class_or_none(provider)
    return cls is not None and cls.resumable

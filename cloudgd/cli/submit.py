"""``cloudgd submit FILE --provider P``: create the job (or only plan it with --dry-run)."""

from __future__ import annotations

import click

from cloudgd.cli.options import backend_options, planning_options, poll_option


@click.command()
@planning_options
@backend_options
@click.option(
    "--run-local",
    is_flag=True,
    help="With a rehearsal backend: also run the job here, emulating the cloud's container.",
)
@click.option("--dry-run", is_flag=True, help="Plan only: show what would be sent, send nothing.")
@click.option("--wait", is_flag=True, help="Wait until the job ends; exit 4 if it fails.")
@click.option(
    "--follow", "-f", is_flag=True, help="Stream the logs until the job ends (implies --wait)."
)
@poll_option
def command(
    file: str,
    provider: str,
    overrides: tuple[str, ...],
    idempotency_key: str | None,
    backend: str,
    endpoint: str | None,
    run_local: bool,
    dry_run: bool,
    wait: bool,
    follow: bool,
    poll: float | None,
) -> None:
    """Submit a job and print its handle.

    Job names are deterministic (spec hash + idempotency key): submitting the same
    spec again attaches to the existing job instead of starting a second one.
    --follow and --wait exit 4 when the job fails or is cancelled.
    """
    from cloudgd.cli.handles import check_outcome, default_poll
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console, note, render_plan, status_document
    from cloudgd.cli.planning import budget_gate, plan_job, warn_budget
    from cloudgd.plan import JobHandle
    from cloudgd.rehearsal import submit_rehearsal

    json_mode = settings().json
    planned = plan_job(
        file,
        provider,
        overrides=overrides,
        idempotency_key=idempotency_key,
        backend=backend,
        endpoint=endpoint,
        run_local=run_local,
    )
    chosen, plan = planned.provider, planned.plan
    if dry_run:
        warn_budget(planned)
        if json_mode:
            document = {"dry_run": True, "handle": plan.handle, "state": None}
            emit_json({**document, "plan": planned.shown.model_dump(mode="json")})
        else:
            render_plan(human_console(), planned.shown)
            note("dry run: nothing was submitted")
        return

    budget_gate(planned)
    if run_local:
        status = submit_rehearsal(chosen, plan, planned.loaded.spec, planned.ctx)
    else:
        status = chosen.submit(plan)
    handle = JobHandle.parse(status.handle or plan.handle)
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
            total_epochs=planned.loaded.spec.trainer.epochs,
            to_stderr=json_mode,
        )
    else:
        from cloudgd.cli.wait import waiter

        status = chosen.wait(
            handle, poll=poll or default_poll(chosen), on_status=waiter(status.state)
        )
    if follow:  # --wait already printed each state change, the last one included
        reason = f" ({status.message})" if status.message else ""
        note(f"{status.name}: {status.state.value}{reason}")
    if json_mode:
        emit_json(
            {
                "handle": str(handle),
                "state": status.state.value,
                "job_name": plan.job_name,
                "provider": chosen.name,
                "status": status_document(status),
            }
        )
    if wait or follow:
        check_outcome(status)

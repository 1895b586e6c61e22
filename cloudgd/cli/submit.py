"""``cloudgd submit FILE --provider P``: create the job (or only plan it with --dry-run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cloudgd.cli.options import backend_options, gate_options, planning_options, poll_option

if TYPE_CHECKING:
    from cloudgd.cli.planning import Planned


@click.command()
@planning_options
@backend_options
@click.option(
    "--run-local",
    is_flag=True,
    help="With a rehearsal backend: also run the job here, emulating the cloud's container.",
)
@click.option("--dry-run", is_flag=True, help="Plan only: show what would be sent, send nothing.")
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
    from cloudgd.cli.handles import default_poll
    from cloudgd.cli.options import settings
    from cloudgd.cli.outcome import (
        estimate_or_none,
        finish,
        gates_from_flags,
        job_result,
        with_summary_metrics,
    )
    from cloudgd.cli.output import emit_json, human_console, note, render_plan, status_document
    from cloudgd.cli.planning import budget_gate, plan_job, warn_budget
    from cloudgd.plan import JobHandle
    from cloudgd.rehearsal import submit_rehearsal

    json_mode = settings().json
    if resume and (provider != "local" or run_local):
        from cloudgd.errors import UsageError

        raise UsageError(
            "--resume restarts local runs (--provider local)",
            hint="cloud jobs resume from checkpoints through scaling.restarts and spot retries",
        )
    gates = gates_from_flags(min_metrics, max_metrics, waits=wait or follow or dry_run)
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
    planned, attached = attach_to_earlier_attempt(planned, explicit_key=idempotency_key)
    chosen, plan = planned.provider, planned.plan
    if run_local:
        status = submit_rehearsal(chosen, plan, planned.loaded.spec, planned.ctx)
    elif resume:
        status = chosen.submit(plan, resume=True)  # type: ignore[call-arg]
    else:
        status = chosen.submit(plan)
    ended = status.state.value in ("FAILED", "CANCELLED")
    if ended and status.extra.get("existing") and chosen.name == "local" and not resume:
        note(
            f"this job already ran and ended {status.state.value}; "
            "add --resume to start it again from its checkpoints"
        )
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


def attach_to_earlier_attempt(
    planned: Planned, *, explicit_key: str | None
) -> tuple[Planned, bool]:
    """In a CI re-run, the plan of the job an earlier attempt started, if it should be reused.

    See :mod:`cloudgd.ci.reattach`; a key the user chose names exactly one job.
    """
    if explicit_key is not None:
        return planned, False
    import dataclasses
    import os

    from cloudgd.ci.environment import detect
    from cloudgd.ci.reattach import find_earlier_job
    from cloudgd.cli.output import note

    run = detect(os.environ)
    if run is None:
        return planned, False
    earlier = find_earlier_job(planned.provider, planned.loaded.spec, planned.ctx, run)
    if earlier is None:
        return planned, False
    note(
        f"attempt {run.attempt} of this CI run: attaching to {earlier.plan.job_name}, which "
        f"attempt {earlier.attempt} started ({earlier.status.state.value})"
    )
    return dataclasses.replace(planned, plan=earlier.plan, ctx=earlier.ctx), True

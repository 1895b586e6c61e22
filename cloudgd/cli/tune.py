"""``cloudgd tune FILE --provider P``: run the spec's ``tuning:`` search.

``--provider local`` runs the study here with Optuna (each trial a real local
run), shows progress, and ends with the best trial; ``aws``, ``gcp`` and ``azure``
submit a SageMaker tuning job, a Vertex HyperparameterTuningJob or an Azure ML sweep
job (``--backend moto|fake`` rehearses against the local fakes); ``--dry-run``
prints the tuning request for any provider and sends nothing. The study's worst case,
trials × one trial's bound, is checked against ``limits.max_cost_usd``.

With ``--wait`` a cloud study is followed to its end (each change of state or trial
counts on stderr), then shown with every trial; exit 4 when it failed or was
cancelled, or when its best trial misses a ``--min-metric``/``--max-metric`` gate.
A local study always runs in the foreground, so it always waits.
"""

from __future__ import annotations

from typing import Any

import click

from cloudgd.cli.options import backend_options, gate_options, planning_options, poll_option


def tuning_plan(planned: Any) -> Any:
    """The provider's tuning plan, rendered with the same context as its single-job plan."""
    from cloudgd.errors import UsageError

    spec, ctx, provider = planned.loaded.spec, planned.ctx, planned.provider
    if provider.name == "aws":
        from providers.aws.tuning import render_tuning

        return render_tuning(spec, ctx, rehearsal=provider.rehearsal)
    if provider.name == "gcp":
        from providers.gcp.tuning import render_tuning as render_vertex

        return render_vertex(spec, ctx, rehearsal=provider.backend == "fake")
    if provider.name == "azure":
        from providers.azure.tuning import render_sweep

        return render_sweep(spec, ctx, rehearsal=provider.backend == "fake")
    raise UsageError(f"provider {provider.name} has no tuning request to plan")


@click.command()
@planning_options
@backend_options
@click.option("--dry-run", is_flag=True, help="Print the tuning request; send nothing.")
@click.option(
    "--wait",
    is_flag=True,
    help="Follow a cloud study to its end and show every trial; exit 4 if it failed "
    "(a local study always runs in the foreground).",
)
@poll_option
@gate_options
def command(
    file: str,
    provider: str,
    overrides: tuple[str, ...],
    idempotency_key: str | None,
    backend: str,
    endpoint: str | None,
    dry_run: bool,
    wait: bool,
    poll: float | None,
    min_metrics: tuple[str, ...],
    max_metrics: tuple[str, ...],
) -> None:
    """Run the spec's tuning: search; show the best trial.

    Locally the study runs here with Optuna, each trial a real local run; on a cloud
    it is a SageMaker tuning job, a Vertex AI HyperparameterTuningJob or an Azure ML
    sweep, and the printed handle follows it with status, logs, wait, cancel, list
    and report. The budget (limits.max_cost_usd) covers the whole study.

    \b
    cloudgd tune examples/digits-tune.yaml -p local
    cloudgd tune job.yaml -p aws --dry-run
    cloudgd tune job.yaml -p gcp --wait --min-metric val_accuracy=0.95
    """
    from cloudgd.cli.options import settings
    from cloudgd.cli.outcome import gates_from_flags
    from cloudgd.cli.output import emit_json, human_console, note, render_plan
    from cloudgd.cli.planning import plan_job
    from cloudgd.tuning.cost import require_tuning

    local = provider == "local"
    gates = gates_from_flags(min_metrics, max_metrics, waits=wait or local or dry_run)
    planned = plan_job(
        file,
        provider,
        overrides=overrides,
        idempotency_key=idempotency_key,
        backend=backend,
        endpoint=endpoint,
    )
    require_tuning(planned.loaded.spec)
    json_mode = settings().json
    if planned.provider.name == "local":
        status = _run_local(planned, dry_run, json_mode)
        if status is not None:
            _enforce_gates(status, gates)
        return
    plan = tuning_plan(planned)
    if dry_run:
        _warn_budget(planned)
        if json_mode:
            emit_json(
                {"dry_run": True, "handle": plan.handle, "plan": plan.model_dump(mode="json")}
            )
        else:
            render_plan(human_console(), plan)
            note("dry run: nothing was submitted")
        return
    _budget_gate(planned)
    status = submit_tuning(planned.provider, plan)
    note(f"submitted tuning job {plan.job_name} to {planned.provider.name}: {status.state.value}")
    if wait:
        _wait(planned.provider, status, poll, gates)
        return
    if json_mode:
        emit_json({"handle": status.handle, "state": status.state.value, "job_name": plan.job_name})
    else:
        click.echo(status.handle)


def _wait(provider: Any, submitted: Any, poll: float | None, gates: Any) -> None:
    from cloudgd.cli.handles import check_outcome, default_poll
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console, render_status, status_document
    from cloudgd.cli.wait import study_waiter
    from cloudgd.plan import JobHandle
    from cloudgd.tuning.follow import TuningFollower

    follower = TuningFollower(provider)
    status = follower.wait(
        JobHandle.parse(submitted.handle),
        poll=poll or default_poll(provider),
        on_status=study_waiter(submitted),
    )
    if settings().json:
        emit_json(status_document(status))
    else:
        render_status(human_console(), status)
    check_outcome(status)
    _enforce_gates(status, gates)


def _enforce_gates(status: Any, gates: Any) -> None:
    """Exit 4 when the study's best value misses a gate (its metric is the best trial's)."""
    from cloudgd.ci.gates import check_gates
    from cloudgd.cli.outcome import note_passed_gates, raise_missed_gates

    results = check_gates(gates, status.metrics)
    note_passed_gates(results, status.metrics)
    raise_missed_gates(
        results,
        status.metrics,
        hint=f"the study's best trial misses the gate; see cloudgd status '{status.handle}'",
    )


def submit_tuning(provider: Any, plan: Any) -> Any:
    """Send the tuning plan through the provider's tuner; its status (a tuning handle)."""
    if provider.name == "aws":
        from providers.aws.tuning import submit_tuning as submit_aws

        return submit_aws(provider, plan)
    if provider.name == "gcp":
        from providers.gcp.tuning_jobs import submit_tuning as submit_vertex

        return submit_vertex(provider, plan)
    from providers.azure.tuning_jobs import submit_sweep

    return submit_sweep(provider, plan)


def _budget_gate(planned: Any) -> None:
    from cloudgd.cli.planning import CLOUD_PROVIDERS

    spec = planned.loaded.spec
    if spec.limits.max_cost_usd is None or planned.provider.name not in CLOUD_PROVIDERS:
        return
    from cloudgd.cost.budget import enforce_budget
    from cloudgd.cost.select import choice_for_spec
    from cloudgd.tuning.cost import trial_spec

    # Each trial gets budget / trials, so this refuses when trials × worst case > budget.
    trial = trial_spec(spec)
    enforce_budget(trial, choice_for_spec(trial, planned.provider.name))


def _warn_budget(planned: Any) -> None:
    from cloudgd.cli.output import note
    from cloudgd.errors import BudgetError

    try:
        _budget_gate(planned)
    except BudgetError as refused:
        note(f"warning: tune would refuse this study: {refused.message}")


def _run_local(planned: Any, dry_run: bool, json_mode: bool) -> Any:
    from pathlib import Path

    from cloudgd.cli.output import emit_json, note
    from providers.local.tuning import LocalStudy, study_handle, workers

    spec, name = planned.loaded.spec, planned.plan.job_name
    tuning = spec.tuning
    study_dir = Path(planned.ctx.runs_dir or ".") / "studies" / name
    if dry_run:
        note(
            f"dry run: {tuning.trial_count} local trials, {workers(tuning)} at once, in {study_dir}"
        )
        if json_mode:
            emit_json({"dry_run": True, "handle": study_handle(study_dir)})
        return None
    note(f"study: {study_handle(study_dir)}")
    study = LocalStudy(
        spec,
        study_dir,
        name=name,
        now=planned.ctx.now,
        on_event=note,
        spec_dir=planned.ctx.spec_dir,
    )
    status = study.run()
    best = status.extra.get("best") or {}
    if json_mode:
        emit_json(
            {
                "handle": status.handle,
                "state": status.state.value,
                "best": best,
                "trials": status.extra.get("trials"),
            }
        )
        return status
    if best:
        click.echo(f"best trial {best['trial']}: {tuning.metric.name}={best['value']:.6g}")
        for path, value in sorted(best["params"].items()):
            click.echo(f"  {path} = {value}")
    click.echo(status.handle)
    if not best:
        from cloudgd.errors import JobFailedError

        raise JobFailedError(f"study {name} ended {status.state.value} with no successful trial")
    return status

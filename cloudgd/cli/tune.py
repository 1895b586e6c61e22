"""``cloudgd tune FILE --provider P``: run the spec's ``tuning:`` search.

``--provider local`` runs the study here with Optuna (each trial a real local
run), shows progress, and ends with the best trial; ``aws``, ``gcp`` and ``azure``
submit a SageMaker tuning job, a Vertex HyperparameterTuningJob or an Azure ML sweep
job (``--backend moto|fake`` rehearses against the local fakes); ``--dry-run``
prints the tuning request for any provider and sends nothing. The study's worst case,
trials × one trial's bound, is checked against ``limits.max_cost_usd``.
"""

from __future__ import annotations

from typing import Any

import click

from cloudgd.cli.options import backend_options, planning_options


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
def command(
    file: str,
    provider: str,
    overrides: tuple[str, ...],
    idempotency_key: str | None,
    backend: str,
    endpoint: str | None,
    dry_run: bool,
) -> None:
    """Tune the trainer fields in the spec's tuning: block and print the best trial."""
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console, note, render_plan
    from cloudgd.cli.planning import plan_job
    from cloudgd.tuning.cost import require_tuning

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
        _run_local(planned, dry_run, json_mode)
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
    if json_mode:
        emit_json({"handle": status.handle, "state": status.state.value, "job_name": plan.job_name})
    else:
        click.echo(status.handle)


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


def _run_local(planned: Any, dry_run: bool, json_mode: bool) -> None:
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
        return
    note(f"study: {study_handle(study_dir)}")
    study = LocalStudy(spec, study_dir, name=name, now=planned.ctx.now, on_event=note)
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
        return
    if best:
        click.echo(f"best trial {best['trial']}: {tuning.metric.name}={best['value']:.6g}")
        for path, value in sorted(best["params"].items()):
            click.echo(f"  {path} = {value}")
    click.echo(status.handle)
    if not best:
        from cloudgd.errors import JobFailedError

        raise JobFailedError(f"study {name} ended {status.state.value} with no successful trial")

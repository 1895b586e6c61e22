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


@click.command()
@planning_options
@backend_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the tuning request; send nothing; exit 2 where tune would refuse.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Follow a cloud study to its end and show every trial; exit 4 if it failed "
    "(a local study always runs in the foreground).",
)
@click.option(
    "--run-local",
    is_flag=True,
    help="With a rehearsal backend: also run every trial here, as the cloud's container "
    "runs it (in the foreground, like a local study).",
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
    run_local: bool,
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
    cloudgd tune job.yaml -p aws --backend moto --run-local --wait
    """
    from cloudgd import runner
    from cloudgd.ci.reported import JobReports
    from cloudgd.cli.options import settings
    from cloudgd.cli.outcome import check_gate_names, gates_from_flags
    from cloudgd.cli.output import emit_json, human_console, note, render_plan

    # Gates are checked before the job file is read, as on submit (their names once it is:
    # a script job reports its own); a study that runs here always waits.
    gated = bool(min_metrics + max_metrics)
    gates = gates_from_flags(
        min_metrics,
        max_metrics,
        waits=wait or run_local or dry_run or (gated and runner.study_runs_here(provider)),
    )
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
    plan = runner.plan_tuning(planned)
    here = runner.study_runs_here(planned.provider)
    json_mode = settings().json
    if dry_run:
        if here:
            _show_dry_run_here(plan, json_mode)
            return
        from cloudgd.redact import redact_plan

        shown = redact_plan(plan, planned.loaded.spec.env)  # `plan` itself keeps the values
        if json_mode:
            emit_json(
                {"dry_run": True, "handle": plan.handle, "plan": shown.model_dump(mode="json")}
            )
        else:
            render_plan(human_console(), shown)
            note("dry run: nothing was submitted")
        runner.tuning_budget_gate(planned)  # exit as the real tune would (2 when it refuses)
        return
    tuned = runner.tune(planned, plan, run_local=run_local, notify=note)
    status, tuning = tuned.status, planned.loaded.spec.tuning
    if here or tuned.rehearsal is not None:
        rehearsal_of = status.handle if tuned.rehearsal is not None else None
        finished = tuned.rehearsal or status
        _enforce_gates(
            _show_study(finished, tuning, plan.job_name, json_mode, rehearsal_of=rehearsal_of),
            gates,
        )
        return
    if wait:
        _wait(planned.provider, status, poll, gates)
        return
    if json_mode:
        emit_json({"handle": status.handle, "state": status.state.value, "job_name": plan.job_name})
    else:
        click.echo(status.handle)


def _wait(provider: Any, submitted: Any, poll: float | None, gates: Any) -> None:
    from cloudgd import runner
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, human_console, render_status, status_document
    from cloudgd.cli.wait import study_waiter
    from cloudgd.plan import JobHandle

    status = runner.wait_study(
        provider, JobHandle.parse(submitted.handle), poll=poll, on_status=study_waiter(submitted)
    )
    if settings().json:
        emit_json(status_document(status))
    else:
        render_status(human_console(), status)
    runner.check_outcome(status)
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


def _show_dry_run_here(plan: Any, json_mode: bool) -> None:
    """``--dry-run`` of a study that runs in this process: what would run (its summary)."""
    from cloudgd.cli.output import emit_json, note

    summary = plan.summary
    note(
        f"dry run: {summary['trials']} local trials, {summary['parallel_trials']} at once, "
        f"in {summary['study_dir']}"
    )
    if json_mode:
        emit_json({"dry_run": True, "handle": plan.handle})


def _show_study(
    status: Any, tuning: Any, name: str, json_mode: bool, rehearsal_of: str | None = None
) -> Any:
    """Print a finished local study (best trial, handle); JobFailedError when none succeeded.

    ``rehearsal_of``: the cloud tuning handle a ``--run-local`` study rehearses.
    """
    from cloudgd.cli.output import emit_json
    from cloudgd.tuning.status import StudyStatus

    study = StudyStatus.of(status) or StudyStatus()
    best = study.best
    if json_mode:
        shown = study.to_extra()
        document = {
            "handle": status.handle,
            "state": status.state.value,
            "best": shown.get("best") or {},
            "trials": shown.get("trials"),
        }
        emit_json({**document, "rehearsal_of": rehearsal_of} if rehearsal_of else document)
        return status
    if best is not None:
        click.echo(f"best trial {best.trial}: {tuning.metric.name}={best.value:.6g}")
        for path, value in sorted((best.params or {}).items()):
            click.echo(f"  {path} = {value}")
    click.echo(status.handle)
    if best is None:
        from cloudgd.errors import JobFailedError

        raise JobFailedError(f"study {name} ended {status.state.value} with no successful trial")
    return status

"""JobSpec with ``tuning:`` → an Azure ML sweep job document (``load_job`` accepts it). Pure.

The sweep is ``command(...).sweep(...)`` written out: the trial is the command job
``render.py`` makes for the same spec (code asset, environment, outputs, cluster),
its command extended with one ``--set <trainer path>=${{search_space.<id>}}`` per
tuned field; the search space uses identifiers (``trainer_optimizer_lr``) because
Azure ML input names cannot contain dots. The objective is logged by the trainer
through MLflow (on by default inside Azure ML jobs).

Azure ML's own limits, enforced here with a line naming the field: Bayesian
sampling takes only choice/uniform/quniform and no early termination; grid takes
only choice. ``loguniform`` bounds are natural logarithms on Azure ML.
"""

from __future__ import annotations

import math
from typing import Any

from cloudgd.errors import SpecError
from cloudgd.plan import Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.cost import require_tuning, trial_spec
from cloudgd.tuning.handle import as_tuning
from cloudgd.tuning.names import command_override
from cloudgd.tuning.space import identifier, ordered, value_text
from cloudgd.tuning.spec import ParameterRange, TuningSpec
from providers.azure.render import render_plan
from trainers.context import SWEEP_TRIAL_VAR

OPERATION = "azureml:JobsCreateOrUpdate"
SWEEP_SCHEMA = "https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json"
# Trial-level fields of a command job; the rest stay on the sweep itself.
_TRIAL_KEYS = (
    "code",
    "command",
    "environment",
    "environment_variables",
    "resources",
    "distribution",
)
_SWEEP_KEYS = (
    "name",
    "display_name",
    "experiment_name",
    "description",
    "compute",
    "inputs",
    "outputs",
    "tags",
)


def search_space_entry(rng: ParameterRange) -> dict[str, Any]:
    """One search_space entry in the sweep YAML's vocabulary."""
    if rng.type == "choice":
        values = rng.candidates
        if any(isinstance(v, str | bool) for v in values):
            values = [value_text(v) for v in values]
        return {"type": "choice", "values": values}
    if rng.type == "uniform":
        return {"type": "uniform", "min_value": rng.low, "max_value": rng.high}
    if rng.type == "log_uniform":
        return {
            "type": "loguniform",
            "min_value": math.log(rng.low),
            "max_value": math.log(rng.high),
        }
    return {"type": "quniform", "min_value": rng.low, "max_value": rng.high, "q": 1}


def _check_sampling(tuning: TuningSpec) -> None:
    if tuning.strategy != "bayesian":
        return
    for path, rng in ordered(tuning):
        if rng.type == "log_uniform":
            raise SpecError(
                f"tuning.parameters[{path!r}]: Azure ML Bayesian sampling has no log_uniform",
                hint="use tuning.strategy: random on Azure, or type uniform for this field",
            )


def early_termination(tuning: TuningSpec) -> dict[str, Any] | None:
    """Median stopping (the rule the other clouds use); Bayesian sweeps take none."""
    if not tuning.early_stopping or tuning.strategy == "bayesian":
        return None
    return {"type": "median_stopping", "evaluation_interval": 1, "delay_evaluation": 1}


def sweep_command(base: str, tuning: TuningSpec) -> str:
    """The trial command: the single job's, plus one override per tuned field."""
    sets = [
        command_override(path, f"${{{{search_space.{identifier(path)}}}}}")
        for path, _ in ordered(tuning)
    ]
    return " ".join([base, *sets])


def render_tuning(spec: JobSpec, ctx: RenderContext, *, rehearsal: bool = False) -> Plan:
    """The Azure ML sweep plan: the command job as the trial, plus the search."""
    tuning = require_tuning(spec)
    _check_sampling(tuning)
    ids = [identifier(p) for p in tuning.parameters]
    if len(set(ids)) != len(ids):
        raise SpecError("tuning.parameters: two paths map to the same Azure ML search-space name")
    single = render_plan(trial_spec(spec), ctx, rehearsal=rehearsal)
    job = single.request
    trial = {k: job[k] for k in _TRIAL_KEYS if k in job}
    trial["command"] = sweep_command(job["command"], tuning)
    # The trials share the checkpoints output path: this tells the trainer it is one
    # trial of many, so it keeps its checkpoints in a folder of its own.
    trial["environment_variables"] = {
        **trial.get("environment_variables", {}),
        SWEEP_TRIAL_VAR: "1",
    }
    sweep: dict[str, Any] = {
        "$schema": SWEEP_SCHEMA,
        "type": "sweep",
        **{k: job[k] for k in _SWEEP_KEYS if k in job},
        "trial": trial,
        "sampling_algorithm": tuning.strategy,
        "search_space": {identifier(p): search_space_entry(r) for p, r in ordered(tuning)},
        "objective": {"goal": tuning.metric.goal, "primary_metric": tuning.metric.name},
        "limits": {
            "max_total_trials": tuning.trial_count,
            "max_concurrent_trials": tuning.parallel_trials,
            "trial_timeout": job["limits"]["timeout"],
        },
    }
    policy = early_termination(tuning)
    if policy:
        sweep["early_termination"] = policy
    summary = {**single.summary, **tuning.plan_summary(tuning.strategy)}
    if tuning.early_stopping and policy is None:
        summary["notes"] = [
            *summary.get("notes", []),
            "tuning.early_stopping: Azure ML Bayesian sweeps take no early termination policy",
        ]
    return Plan(
        provider="azure",
        operation=OPERATION,
        request=sweep,
        uploads=single.uploads,
        handle=str(as_tuning(single.handle)),
        job_name=single.job_name,
        summary=summary,
        extra_requests=single.extra_requests,
    )

"""JobSpec with ``tuning:`` → Vertex AI ``CreateHyperparameterTuningJob`` request. Pure.

The trial job spec is the ``jobSpec`` of the CustomJob ``render.py`` makes for the
same spec, unchanged; Vertex appends ``--<parameterId>=<value>`` to each trial's
arguments, and the parameter IDs are the dotted trainer paths
(``--trainer.optimizer.lr=0.01``), which the trainer reads as overrides. The
trainer reports the objective through the hypertune metric file
(``CLOUD_ML_HP_METRIC_FILE``), tagged with the metric named here
(``CLOUDGD_HP_METRIC``).
"""

from __future__ import annotations

from typing import Any

from cloudgd.plan import Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.cost import require_tuning, trial_spec
from cloudgd.tuning.handle import as_tuning
from cloudgd.tuning.names import cloud_name
from cloudgd.tuning.space import ordered, value_text
from cloudgd.tuning.spec import ParameterRange, TuningSpec
from providers.gcp.render import render

OPERATION = "aiplatform:CreateHyperparameterTuningJob"
ALGORITHMS = {"bayesian": "ALGORITHM_UNSPECIFIED", "grid": "GRID_SEARCH", "random": "RANDOM_SEARCH"}
HP_METRIC_ENV = "CLOUDGD_HP_METRIC"


def parameter_spec(path: str, rng: ParameterRange) -> dict[str, Any]:
    """One StudySpec.ParameterSpec in proto JSON (int64 as strings)."""
    spec: dict[str, Any] = {"parameterId": cloud_name(path)}
    if rng.type in ("uniform", "log_uniform"):
        spec["doubleValueSpec"] = {"minValue": rng.low, "maxValue": rng.high}
        spec["scaleType"] = "UNIT_LOG_SCALE" if rng.type == "log_uniform" else "UNIT_LINEAR_SCALE"
    elif rng.type == "int_uniform":
        spec["integerValueSpec"] = {"minValue": str(int(rng.low)), "maxValue": str(int(rng.high))}
        spec["scaleType"] = "UNIT_LINEAR_SCALE"
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in rng.candidates):
        # Numbers: discrete values let Bayesian search see their order.
        spec["discreteValueSpec"] = {"values": sorted(float(v) for v in rng.candidates)}
    else:
        spec["categoricalValueSpec"] = {"values": [value_text(v) for v in rng.candidates]}
    return spec


def study_spec(tuning: TuningSpec) -> dict[str, Any]:
    """StudySpec: the metric and goal, parameters, algorithm, median stopping when asked."""
    study: dict[str, Any] = {
        "metrics": [
            {"metricId": tuning.metric.name, "goal": tuning.metric.goal.upper()},
        ],
        "parameters": [parameter_spec(p, r) for p, r in ordered(tuning)],
        "algorithm": ALGORITHMS[tuning.strategy],
    }
    if tuning.early_stopping:
        study["medianAutomatedStoppingSpec"] = {}
    return study


def _report_metric(job_spec: dict[str, Any], metric: str) -> dict[str, Any]:
    """The trial job spec with every pool told which metric to report to the tuner."""
    pools = []
    for pool in job_spec["workerPoolSpecs"]:
        key = "pythonPackageSpec" if "pythonPackageSpec" in pool else "containerSpec"
        code = dict(pool[key])
        env = [e for e in code.get("env", []) if e["name"] != HP_METRIC_ENV]
        code["env"] = sorted(
            [*env, {"name": HP_METRIC_ENV, "value": metric}], key=lambda e: e["name"]
        )
        pools.append({**pool, key: code})
    return {**job_spec, "workerPoolSpecs": pools}


def render_tuning(spec: JobSpec, ctx: RenderContext, *, rehearsal: bool = False) -> Plan:
    """The Vertex tuning plan: the CustomJob's job spec as the trial, plus the study."""
    tuning = require_tuning(spec)
    trial = render(trial_spec(spec), ctx, rehearsal=rehearsal)
    custom = trial.request["customJob"]
    body: dict[str, Any] = {
        "displayName": custom["displayName"],
        "studySpec": study_spec(tuning),
        "maxTrialCount": tuning.trial_count,
        "parallelTrialCount": tuning.parallel_trials,
        "trialJobSpec": _report_metric(custom["jobSpec"], tuning.metric.name),
        "labels": custom["labels"],
    }
    if "encryptionSpec" in custom:
        body["encryptionSpec"] = custom["encryptionSpec"]
    parent = trial.request["parent"]
    project, location = parent.split("/")[1], parent.split("/")[3]
    summary = {**trial.summary, **tuning.plan_summary(ALGORITHMS[tuning.strategy])}
    return Plan(
        provider="gcp",
        operation=OPERATION,
        request={"parent": parent, "hyperparameterTuningJob": body},
        uploads=trial.uploads,
        handle=str(as_tuning(f"gcp://{project}/{location}/{trial.job_name}")),
        job_name=trial.job_name,
        summary=summary,
    )

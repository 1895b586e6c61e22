"""JobSpec with ``tuning:`` → boto3 ``create_hyper_parameter_tuning_job`` kwargs. Pure.

The trial definition is the training request ``render.py`` makes for the same spec
(image, script-mode hyperparameters, channels, spot, checkpoints, VPC, KMS), moved
into ``TrainingJobDefinition``; the tuned fields travel as hyperparameters named by
their dotted trainer path (``trainer.optimizer.lr``), which the trainer reads as
overrides. The objective is one of the trainer's own ``MetricDefinitions``, so
SageMaker parses it from the same stdout lines as a single job's metrics. Submitting
and following the tuning job: ``tuning_jobs.py``.
"""

from __future__ import annotations

import json
from typing import Any

from cloudgd.naming import job_name
from cloudgd.plan import Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.cost import require_tuning, trial_spec
from cloudgd.tuning.handle import as_tuning
from cloudgd.tuning.names import cloud_name
from cloudgd.tuning.space import by_type, number_text, value_text
from cloudgd.tuning.spec import TuningSpec
from providers.aws import script_render
from providers.aws.render import render_plan

OPERATION = "sagemaker:CreateHyperParameterTuningJob"
MAX_NAME = 32  # HyperParameterTuningJobName: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}
STRATEGIES = {"random": "Random", "grid": "Grid", "bayesian": "Bayesian"}
# Keys of a CreateTrainingJob request that a HyperParameterTrainingJobDefinition also has.
_CARRIED = (
    "RoleArn",
    "InputDataConfig",
    "VpcConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)


def parameter_ranges(tuning: TuningSpec) -> dict[str, list[dict[str, Any]]]:
    """SageMaker ParameterRanges (values as strings, as the API wants them)."""
    ranges: dict[str, list[dict[str, Any]]] = {}
    continuous = [
        {
            "Name": cloud_name(path),
            "MinValue": number_text(r.low),
            "MaxValue": number_text(r.high),
            "ScalingType": "Logarithmic" if r.type == "log_uniform" else "Linear",
        }
        for path, r in by_type(tuning, "uniform", "log_uniform")
    ]
    integer = [
        {
            "Name": cloud_name(path),
            "MinValue": str(int(r.low)),
            "MaxValue": str(int(r.high)),
            "ScalingType": "Linear",
        }
        for path, r in by_type(tuning, "int_uniform")
    ]
    categorical = [
        {"Name": cloud_name(path), "Values": [value_text(v) for v in r.candidates]}
        for path, r in by_type(tuning, "choice")
    ]
    for key, items in (
        ("ContinuousParameterRanges", continuous),
        ("IntegerParameterRanges", integer),
        ("CategoricalParameterRanges", categorical),
    ):
        if items:
            ranges[key] = items
    return ranges


def tuning_config(tuning: TuningSpec) -> dict[str, Any]:
    """HyperParameterTuningJobConfig: strategy, objective, limits, ranges, early stopping."""
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": tuning.parallel_trials}
    if tuning.strategy != "grid":
        # Grid runs every combination; SageMaker derives the count itself.
        limits["MaxNumberOfTrainingJobs"] = tuning.max_trials
    config: dict[str, Any] = {
        "Strategy": STRATEGIES[tuning.strategy],
        "HyperParameterTuningJobObjective": {
            "Type": "Minimize" if tuning.metric.goal == "minimize" else "Maximize",
            "MetricName": tuning.metric.name,
        },
        "ResourceLimits": limits,
        "ParameterRanges": parameter_ranges(tuning),
        "TrainingJobEarlyStoppingType": "Auto" if tuning.early_stopping else "Off",
    }
    return config


def render_tuning(spec: JobSpec, ctx: RenderContext, *, rehearsal: bool = False) -> Plan:
    """The SageMaker tuning plan: the trial definition from ``render_plan`` plus the search."""
    tuning = require_tuning(spec)
    trial = render_plan(trial_spec(spec), ctx, rehearsal=rehearsal)
    name = job_name(spec, ctx.idempotency_key, max_len=MAX_NAME)
    training = trial.request
    algorithm = {
        k: v
        for k, v in training["AlgorithmSpecification"].items()
        # Not part of HyperParameterAlgorithmSpecification.
        if k != "EnableSageMakerMetricsTimeSeries"
    }
    tuned = {cloud_name(path) for path in tuning.parameters}
    if spec.script is not None:
        script_render.check_objective(spec.script, tuning.metric.name)
    static = {k: v for k, v in training["HyperParameters"].items() if k not in tuned}
    static["sagemaker_job_name"] = json.dumps(name)
    definition: dict[str, Any] = {
        "AlgorithmSpecification": algorithm,
        "StaticHyperParameters": static,
        **{k: training[k] for k in _CARRIED if k in training},
    }
    request = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": tuning_config(tuning),
        "TrainingJobDefinition": definition,
        "Tags": training["Tags"],
    }
    region = trial.summary["region"]
    summary = {**trial.summary, **tuning.plan_summary(STRATEGIES[tuning.strategy])}
    return Plan(
        provider="aws",
        operation=OPERATION,
        request=request,
        uploads=trial.uploads,
        handle=str(as_tuning(f"aws://{region}/{name}")),
        job_name=name,
        summary=summary,
    )

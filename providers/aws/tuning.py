"""JobSpec with ``tuning:`` → boto3 ``create_hyper_parameter_tuning_job`` kwargs. Pure.

The trial definition is the training request ``render.py`` makes for the same spec
(image, script-mode hyperparameters, channels, spot, checkpoints, VPC, KMS), moved
into ``TrainingJobDefinition``; the tuned fields travel as hyperparameters named by
their dotted trainer path (``trainer.optimizer.lr``), which the trainer reads as
overrides. The objective is one of the trainer's own ``MetricDefinitions``, so
SageMaker parses it from the same stdout lines as a single job's metrics.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cloudgd.errors import JobNotFoundError, ProviderError, SpecError
from cloudgd.naming import job_name
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext, map_state
from cloudgd.spec import JobSpec
from cloudgd.tuning.cost import require_tuning, trial_spec
from cloudgd.tuning.handle import as_tuning
from cloudgd.tuning.names import cloud_name
from cloudgd.tuning.space import by_type, number_text, value_text
from cloudgd.tuning.spec import TuningSpec
from providers.aws import script_render
from providers.aws.render import render_plan

if TYPE_CHECKING:
    from providers.aws.provider import AwsProvider

OPERATION = "sagemaker:CreateHyperParameterTuningJob"
MAX_NAME = 32  # HyperParameterTuningJobName: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}
_DENIED = ("AccessDenied", "AccessDeniedException")
MAX_TRIAL_PAGES = 20  # of 100 trials each: past SageMaker's own limit on trials per job
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
    summary = {
        **trial.summary,
        "trials": tuning.trial_count,
        "parallel_trials": tuning.parallel_trials,
        "strategy": STRATEGIES[tuning.strategy],
        "objective": f"{tuning.metric.goal} {tuning.metric.name}",
        "parameters": sorted(tuning.parameters),
    }
    return Plan(
        provider="aws",
        operation=OPERATION,
        request=request,
        uploads=trial.uploads,
        handle=str(as_tuning(f"aws://{region}/{name}")),
        job_name=name,
        summary=summary,
    )


# -- following (the provider's connection and client handling, reused) -------------
TUNING_STATES = {
    "InProgress": JobState.RUNNING,
    "Completed": JobState.SUCCEEDED,
    "Failed": JobState.FAILED,
    "Stopping": JobState.STOPPING,
    "Stopped": JobState.CANCELLED,
    "Deleting": JobState.STOPPING,
    "DeleteFailed": JobState.FAILED,
}


def submit_tuning(provider: AwsProvider, plan: Plan) -> JobStatus:
    """Upload the bundle, create the tuning job (or find the one of that name)."""
    from providers.aws import client as aws

    handle = JobHandle.parse(plan.handle)
    conn = provider._connection(handle.parts[0])
    handle = handle.model_copy(update={"params": {**handle.params, **conn.handle_params()}})
    problems = aws.tuning_request_problems(plan.request)
    if problems:
        raise SpecError(
            f"the SageMaker tuning request is invalid: {problems[0]}",
            problems=[f"SageMaker request: {p}" for p in problems],
        )
    sagemaker = provider._client("sagemaker", conn)
    if _describe(sagemaker, plan.job_name, conn) is None:
        s3 = provider._client("s3", conn)
        if conn.rehearsal:
            output = plan.request["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"]
            buckets = {aws.split_s3(u.destination)[0] for u in plan.uploads}
            for bucket in sorted(buckets | {aws.split_s3(output)[0]}):
                aws.ensure_bucket(s3, bucket, conn)
        for item in plan.uploads:
            aws.upload(s3, item, conn)
        if conn.rehearsal:  # as for a single job: SageMaker fails trials with no input data
            from providers.aws.s3data import check_inputs

            check_inputs(s3, plan.request["TrainingJobDefinition"], conn)
        with aws.sdk_errors(f"creating tuning job {plan.job_name}", conn):
            sagemaker.create_hyper_parameter_tuning_job(**plan.request)
    return tuning_status(provider, handle)


def _describe(sagemaker: Any, name: str, conn: Any) -> dict[str, Any] | None:
    from providers.aws import client as aws

    try:
        with aws.sdk_errors(f"describing tuning job {name}", conn):
            found: dict[str, Any] = sagemaker.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=name
            )
            return found
    except JobNotFoundError:
        return None


def _trials(sagemaker: Any, name: str, conn: Any) -> list[dict[str, Any]] | None:
    """Per-trial status (ListTrainingJobsForHyperParameterTuningJob); None where the
    backend lacks the call (moto 5.2.5)."""
    from providers.aws import client as aws

    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"HyperParameterTuningJobName": name, "MaxResults": 100}
    try:
        with aws.sdk_errors(f"listing trials of {name}", conn):
            for _ in range(MAX_TRIAL_PAGES):
                page = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(**kwargs)
                summaries += page.get("TrainingJobSummaries", [])
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
    except (ProviderError, NotImplementedError):  # moto: HTTP 500 as a server, raises in-process
        return None
    trials = []
    for job in summaries:
        final = job.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        trials.append(
            {
                "name": job["TrainingJobName"],
                "state": job.get("TrainingJobStatus"),
                "params": job.get("TunedHyperParameters", {}),
                "value": final.get("Value"),
                "message": job.get("FailureReason"),
            }
        )
    return trials


def _with_handles(trials: list[dict[str, Any]] | None, study: JobHandle) -> Any:
    """Each trial is a training job: give it the handle that follows it."""
    from cloudgd.tuning.trials import trial_handle

    for trial in trials or []:
        trial["handle"] = trial_handle(study, trial["name"])
    return trials


def tuning_status(provider: AwsProvider, handle: JobHandle) -> JobStatus:
    """DescribeHyperParameterTuningJob as a JobStatus, trials and the best one in ``extra``."""
    conn = provider._handle_connection(handle)
    sagemaker = provider._client("sagemaker", conn)
    described = _describe(sagemaker, handle.job, conn)
    if described is None:
        raise JobNotFoundError(f"no tuning job {handle.job} in {conn.describe()}")
    raw = described.get("HyperParameterTuningJobStatus")
    best = described.get("BestTrainingJob") or {}
    objective = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    metrics = {}
    if objective.get("MetricName") and objective.get("Value") is not None:
        metrics[objective["MetricName"]] = float(objective["Value"])
    return JobStatus(
        handle=str(handle),
        name=handle.job,
        state=map_state(TUNING_STATES, raw),
        raw_state=raw,
        message=described.get("FailureReason") or None,
        created_at=described.get("CreationTime"),
        ended_at=described.get("HyperParameterTuningEndTime"),
        metrics=metrics,
        extra={
            "kind": "tuning",
            "trial_counts": described.get("TrainingJobStatusCounters", {}),
            "best": {
                "name": best.get("TrainingJobName"),
                "params": best.get("TunedHyperParameters"),
                "value": objective.get("Value"),
            }
            if best
            else {},
            "trials": _with_handles(_trials(sagemaker, handle.job, conn), handle),
        },
    )


def list_tuning_jobs(sagemaker: Any, conn: Any, region: str, prefix: str | None) -> list[JobStatus]:
    """cloudgd's tuning jobs in ``region`` (tagged like its training jobs), tuning handles."""
    from providers.aws.client import error_code
    from providers.aws.listing import cloudgd_summaries

    params = conn.handle_params()
    try:
        listed = cloudgd_summaries(
            sagemaker,
            conn,
            what="tuning jobs",
            call="list_hyper_parameter_tuning_jobs",
            result_key="HyperParameterTuningJobSummaries",
            name_key="HyperParameterTuningJobName",
            arn_key="HyperParameterTuningJobArn",
            prefix=prefix,
        )
    except ProviderError as exc:
        # A caller whose policy predates `cloudgd tune` may list training jobs but not
        # tuning jobs: `list` still shows its training jobs.
        if exc.__cause__ is not None and error_code(exc.__cause__) in _DENIED:
            return []
        raise
    found = []
    for summary, _ in listed:
        name = summary["HyperParameterTuningJobName"]
        handle = as_tuning(JobHandle(provider="aws", parts=(region, name), params=params))
        raw = summary.get("HyperParameterTuningJobStatus")
        found.append(
            JobStatus(
                handle=str(handle),
                name=name,
                state=map_state(TUNING_STATES, raw),
                raw_state=raw,
                created_at=summary.get("CreationTime"),
                ended_at=summary.get("HyperParameterTuningEndTime"),
                extra={
                    "kind": "tuning",
                    "trial_counts": summary.get("TrainingJobStatusCounters", {}),
                },
            )
        )
    return found


def tuning_logs(provider: AwsProvider, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
    """Every trial's CloudWatch lines, merged by time, each prefixed ``[<trial>]`` (its
    training job's name after the tuning job's); with ``follow``, until the job ends.

    Trials are training jobs, so each is read like one (:class:`LogCursor`). Where the
    backend cannot list trials (moto), one line says so.
    """
    import time

    from providers.aws.logs import LogCursor

    conn = provider._handle_connection(handle)
    logs = provider._client("logs", conn)
    cursors: dict[str, LogCursor] = {}
    while True:
        status = tuning_status(provider, handle)
        trials = status.extra.get("trials")
        if trials is None:
            yield f"{status.name}: {status.raw_state} (this backend does not list trials)"
            return
        for trial in trials:
            cursors.setdefault(trial["name"], LogCursor(logs, trial["name"], conn))
        lines: list[tuple[int, str, str]] = []
        for name, cursor in cursors.items():
            events = cursor.poll()
            label = name.removeprefix(f"{handle.job}-")
            lines += [
                (event.timestamp, name, f"[{label}] {text}")
                for event, text in zip(events, cursor.lines(events), strict=True)
            ]
        yield from (text for _, _, text in sorted(lines))
        if not follow or status.state.terminal:
            return
        time.sleep(provider.log_poll_seconds)


def cancel_tuning(provider: AwsProvider, handle: JobHandle) -> JobStatus:
    """StopHyperParameterTuningJob (stops every running trial); ended jobs are left alone."""
    from providers.aws import client as aws

    current = tuning_status(provider, handle)
    if current.state.terminal or current.state is JobState.STOPPING:
        return current
    conn = provider._handle_connection(handle)
    with aws.sdk_errors(f"stopping tuning job {handle.job}", conn):
        provider._client("sagemaker", conn).stop_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=handle.job
        )
    return tuning_status(provider, handle)

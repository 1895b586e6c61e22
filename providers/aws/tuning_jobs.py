"""Submit, follow, list and cancel SageMaker hyperparameter tuning jobs (cloud or moto).

The provider's connection and client handling are reused; each trial is a training job
of its own (``<tuning job>-<nnn>-<hash>``), so it gets an ordinary training-job handle.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cloudgd.errors import JobNotFoundError, ProviderError, SpecError
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, map_state
from cloudgd.tuning.handle import as_tuning
from cloudgd.tuning.status import BestTrial, StudyStatus, TrialStatus
from cloudgd.tuning.trials import sibling_trial_handle

if TYPE_CHECKING:
    from providers.aws.provider import AwsProvider

_DENIED = ("AccessDenied", "AccessDeniedException")
MAX_TRIAL_PAGES = 20  # of 100 trials each: past SageMaker's own limit on trials per job
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


def _trials(sagemaker: Any, study: JobHandle, conn: Any) -> list[TrialStatus] | None:
    """Per-trial status (ListTrainingJobsForHyperParameterTuningJob), each trial a training
    job with its own handle; None where the backend lacks the call (moto 5.2.5)."""
    from providers.aws import client as aws

    summaries: list[dict[str, Any]] = []
    name = study.job
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
    return [
        TrialStatus(
            name=job["TrainingJobName"],
            handle=sibling_trial_handle(study, job["TrainingJobName"]),
            state=job.get("TrainingJobStatus"),
            params=job.get("TunedHyperParameters", {}),
            value=(job.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value"),
            message=job.get("FailureReason"),
        )
        for job in summaries
    ]


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
    study = StudyStatus(
        trial_counts=described.get("TrainingJobStatusCounters", {}),
        best=BestTrial(
            name=best.get("TrainingJobName"),
            params=best.get("TunedHyperParameters"),
            value=objective.get("Value"),
        )
        if best
        else None,
        trials=_trials(sagemaker, handle, conn),
    )
    return JobStatus(
        handle=str(handle),
        name=handle.job,
        state=map_state(TUNING_STATES, raw),
        raw_state=raw,
        message=described.get("FailureReason") or None,
        created_at=described.get("CreationTime"),
        ended_at=described.get("HyperParameterTuningEndTime"),
        metrics=metrics,
        extra=study.to_extra(),
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
                extra=StudyStatus(
                    trial_counts=summary.get("TrainingJobStatusCounters", {})
                ).to_extra(),
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
        study = StudyStatus.of(status)
        trials = study.trials if study else None
        if trials is None:
            yield f"{status.name}: {status.raw_state} (this backend does not list trials)"
            return
        for trial in trials:
            name = str(trial.name)
            cursors.setdefault(name, LogCursor(logs, name, conn))
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

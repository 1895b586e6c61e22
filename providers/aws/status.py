"""DescribeTrainingJob / ListTrainingJobs answers → cloudgd JobStatus (pure)."""

from __future__ import annotations

from typing import Any

from cloudgd.plan import JobHandle, JobStatus
from providers.aws.client import Connection
from providers.aws.states import job_status_fields


def console_url(region: str, name: str) -> str:
    """The SageMaker console page of a training job, in the region's partition."""
    if region.startswith("cn-"):
        host = "console.amazonaws.cn"
    elif region.startswith("us-gov-"):
        host = "console.amazonaws-us-gov.com"
    else:
        host = f"{region}.console.aws.amazon.com"
    return f"https://{host}/sagemaker/home?region={region}#/jobs/{name}"


def job_status(
    handle: JobHandle, described: dict[str, Any], conn: Connection, note: str | None = None
) -> JobStatus:
    """Everything `cloudgd status` shows about one job."""
    name = described["TrainingJobName"]
    primary = described.get("TrainingJobStatus")
    secondary = described.get("SecondaryStatus")
    state, message = job_status_fields(primary, secondary, described.get("FailureReason"))
    metrics = {
        m["MetricName"]: float(m["Value"])
        for m in described.get("FinalMetricDataList", [])
        if "MetricName" in m and "Value" in m
    }
    extra: dict[str, Any] = {
        "secondary_status": secondary,
        "backend": "moto" if conn.rehearsal else "cloud",
    }
    artifacts = described.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    if artifacts:
        extra["model_artifacts"] = artifacts
    for key, label in (
        ("TrainingTimeInSeconds", "training_seconds"),
        ("WarmPoolStatus", "warm_pool"),
        ("EnableManagedSpotTraining", "spot"),
    ):
        if key in described:
            extra[label] = described[key]
    transitions = described.get("SecondaryStatusTransitions") or []
    if transitions:
        extra["last_transition"] = transitions[-1].get("StatusMessage") or transitions[-1].get(
            "Status"
        )
    if note:
        extra["note"] = note
    return JobStatus(
        handle=str(handle),
        name=name,
        state=state,
        raw_state=primary,
        message=message,
        created_at=described.get("CreationTime"),
        started_at=described.get("TrainingStartTime"),
        ended_at=described.get("TrainingEndTime"),
        billable_seconds=described.get("BillableTimeInSeconds"),
        metrics=metrics,
        console_url=None if conn.rehearsal else console_url(handle.parts[0], name),
        extra=extra,
    )


def summary_status(
    handle: JobHandle, summary: dict[str, Any], tags: list[dict[str, str]]
) -> JobStatus:
    """A row of `cloudgd list` from a ListTrainingJobs summary and the job's tags."""
    primary = summary.get("TrainingJobStatus")
    secondary = summary.get("SecondaryStatus")
    state, message = job_status_fields(primary, secondary, None)
    cloudgd_tags = {t["Key"]: t["Value"] for t in tags if t["Key"].startswith("cloudgd:")}
    return JobStatus(
        handle=str(handle),
        name=summary["TrainingJobName"],
        state=state,
        raw_state=primary,
        message=message,
        created_at=summary.get("CreationTime"),
        ended_at=summary.get("TrainingEndTime"),
        extra={"secondary_status": secondary, "tags": cloudgd_tags},
    )

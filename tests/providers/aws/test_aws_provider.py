"""AwsProvider against in-process moto (control plane) and botocore Stubber (what moto lacks)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_helpers import OUTPUT, make_ctx, make_spec
from botocore.stub import Stubber
from moto import mock_aws

from cloudgd.errors import JobNotFoundError, UsageError
from cloudgd.plan import BundleRef, JobHandle, JobState, JobStatus, Plan
from providers.aws import client as aws
from providers.aws.logs import LOG_GROUP
from providers.aws.provider import AwsProvider
from providers.base import Provider
from providers.rehearsal_follow import RehearsalFollower

REGION = "us-east-1"


@pytest.fixture
def moto_aws() -> Iterator[None]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="cloudgd-artifacts")
        yield


def plan_for(bundle: BundleRef, **spec_fields: Any) -> Plan:
    return AwsProvider().plan(make_spec(**spec_fields), make_ctx(bundle=bundle))


def test_submit_uploads_the_bundle_and_creates_the_job(
    moto_aws: None, real_bundle: BundleRef
) -> None:
    plan = plan_for(real_bundle)
    status = AwsProvider().submit(plan)
    assert status.handle == plan.handle
    assert status.name == plan.job_name
    assert status.state is JobState.SUCCEEDED  # moto completes every job at once
    head = boto3.client("s3", region_name=REGION).head_object(
        Bucket="cloudgd-artifacts",
        Key=f"{OUTPUT.split('/', 3)[3]}/cloudgd/code/{real_bundle.filename}",
    )
    assert head["Metadata"]["sha256"] == real_bundle.sha256
    described = boto3.client("sagemaker", region_name=REGION).describe_training_job(
        TrainingJobName=plan.job_name
    )
    assert described["HyperParameters"] == plan.request["HyperParameters"]
    assert status.console_url and plan.job_name in status.console_url


def test_resubmitting_the_same_plan_returns_the_existing_job(
    moto_aws: None, real_bundle: BundleRef
) -> None:
    plan = plan_for(real_bundle)
    first = AwsProvider().submit(plan)
    second = AwsProvider().submit(plan)
    assert second.name == first.name
    assert second.extra["note"] == "already submitted"
    jobs = boto3.client("sagemaker", region_name=REGION).list_training_jobs()
    assert [j["TrainingJobName"] for j in jobs["TrainingJobSummaries"]] == [plan.job_name]


def test_an_identical_bundle_is_not_uploaded_twice(moto_aws: None, real_bundle: BundleRef) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    item = plan_for(real_bundle).uploads[0]
    conn = aws.Connection(region=REGION)
    assert aws.upload(s3, item, conn) is True
    assert aws.upload(s3, item, conn) is False


def test_a_rehearsal_plan_is_never_sent_to_aws(real_bundle: BundleRef) -> None:
    plan = AwsProvider(backend="moto").plan(make_spec(providers={}), make_ctx(bundle=real_bundle))
    with pytest.raises(UsageError, match="rehearsal"):
        AwsProvider().submit(plan)


def test_status_of_an_unknown_job_names_it(moto_aws: None) -> None:
    with pytest.raises(JobNotFoundError, match="no-such-job"):
        AwsProvider().status(JobHandle.parse("aws://us-east-1/no-such-job"))


def _seed_logs(job: str, *, second_host: bool = True) -> None:
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName=LOG_GROUP)
    now = int(time.time() * 1000)
    lines = {
        f"{job}/algo-1-1700000000": [(now + 1, "epoch=1 loss=0.5"), (now + 3, "epoch=2 loss=0.2")],
        f"{job}/algo-2-1700000000": [(now + 2, "rank 8 joined")],
        f"{job}0/algo-1-1700000000": [(now + 2, "another job's line")],
    }
    if not second_host:
        del lines[f"{job}/algo-2-1700000000"]
    for stream, events in lines.items():
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in events],
        )


def test_logs_merge_every_stream_of_the_job_by_time(moto_aws: None, real_bundle: BundleRef) -> None:
    plan = plan_for(real_bundle, resources={"nodes": 2})
    status = AwsProvider().submit(plan)
    _seed_logs(plan.job_name)
    lines = list(AwsProvider().logs(JobHandle.parse(status.handle)))
    assert lines == [
        "[algo-1] epoch=1 loss=0.5",
        "[algo-2] rank 8 joined",
        "[algo-1] epoch=2 loss=0.2",
    ]


def test_follow_stops_once_the_job_has_ended(moto_aws: None, real_bundle: BundleRef) -> None:
    plan = plan_for(real_bundle)
    status = AwsProvider().submit(plan)
    _seed_logs(plan.job_name, second_host=False)
    provider = AwsProvider(log_poll_seconds=0.01)
    lines = list(provider.logs(JobHandle.parse(status.handle), follow=True))
    assert lines == ["epoch=1 loss=0.5", "epoch=2 loss=0.2"]


def test_logs_before_any_stream_exists_are_empty(moto_aws: None) -> None:
    assert list(AwsProvider().logs(JobHandle.parse("aws://us-east-1/not-started-1"))) == []


def test_cancelling_an_ended_job_is_a_no_op(moto_aws: None, real_bundle: BundleRef) -> None:
    status = AwsProvider().submit(plan_for(real_bundle))
    again = AwsProvider().cancel(JobHandle.parse(status.handle))
    assert again.state is JobState.SUCCEEDED


def test_list_shows_only_cloudgd_jobs(moto_aws: None, real_bundle: BundleRef) -> None:
    plan = plan_for(real_bundle)
    AwsProvider().submit(plan)
    foreign = dict(plan.request, TrainingJobName="someone-elses-job", Tags=[])
    boto3.client("sagemaker", region_name=REGION).create_training_job(**foreign)
    listed = AwsProvider(region=REGION).list()
    assert [s.name for s in listed] == [plan.job_name]
    assert listed[0].extra["tags"]["cloudgd:job"] == "digits"
    assert AwsProvider(region=REGION).list(prefix="nothing-") == []


# -- Stubber: the calls moto cannot answer -----------------------------------


def _described(status: str, secondary: str) -> dict[str, Any]:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    return {
        "TrainingJobName": "digits-1234abcd",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/digits-1234abcd",
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {
            "InstanceType": "ml.g5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": when,
        "ModelArtifacts": {"S3ModelArtifacts": ""},
    }


def _stubbed(service: str) -> tuple[Any, Stubber]:
    real = boto3.client(
        service, region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s"
    )
    return real, Stubber(real)


def test_cancel_sends_stop_training_job_for_a_running_job() -> None:
    sagemaker, stub = _stubbed("sagemaker")
    name = {"TrainingJobName": "digits-1234abcd"}
    stub.add_response("describe_training_job", _described("InProgress", "Training"), name)
    stub.add_response("stop_training_job", {}, name)
    stub.add_response("describe_training_job", _described("Stopping", "Stopping"), name)
    provider = AwsProvider(client_factory=lambda service, conn: sagemaker)
    with stub:
        status = provider.cancel(JobHandle.parse("aws://us-east-1/digits-1234abcd"))
    stub.assert_no_pending_responses()
    assert status.state is JobState.STOPPING


def test_cancel_loses_the_race_with_the_job_ending_gracefully() -> None:
    sagemaker, stub = _stubbed("sagemaker")
    name = {"TrainingJobName": "digits-1234abcd"}
    stub.add_response("describe_training_job", _described("InProgress", "Uploading"), name)
    stub.add_client_error(
        "stop_training_job",
        service_error_code="ValidationException",
        service_message="The request was rejected because the training job is in status Completed.",
    )
    stub.add_response("describe_training_job", _described("Completed", "Completed"), name)
    provider = AwsProvider(client_factory=lambda service, conn: sagemaker)
    with stub:
        status = provider.cancel(JobHandle.parse("aws://us-east-1/digits-1234abcd"))
    assert status.state is JobState.SUCCEEDED


def test_submit_that_loses_a_creation_race_returns_the_winner(real_bundle: BundleRef) -> None:
    plan = plan_for(real_bundle).model_copy(update={"uploads": []})
    sagemaker, stub = _stubbed("sagemaker")
    name = {"TrainingJobName": plan.job_name}
    stub.add_client_error(
        "describe_training_job",
        service_error_code="ValidationException",
        service_message=f"Requested resource not found: {plan.job_name}",
    )
    stub.add_client_error("create_training_job", service_error_code="ResourceInUse")
    running = dict(_described("InProgress", "Starting"), TrainingJobName=plan.job_name)
    stub.add_response("describe_training_job", running, name)
    provider = AwsProvider(client_factory=lambda service, conn: sagemaker)
    with stub:
        status = provider.submit(plan)
    assert status.state is JobState.STARTING
    assert status.message == "Starting"


def test_failed_job_reports_reason_billing_and_metrics() -> None:
    sagemaker, stub = _stubbed("sagemaker")
    failed = _described("Failed", "Failed")
    failed.update(
        FailureReason="AlgorithmError: ExecuteUserScriptError: exit code 3",
        BillableTimeInSeconds=412,
        FinalMetricDataList=[{"MetricName": "val_loss", "Value": 0.25, "Timestamp": 0}],
    )
    stub.add_response("describe_training_job", failed, {"TrainingJobName": "digits-1234abcd"})
    provider = AwsProvider(client_factory=lambda service, conn: sagemaker)
    with stub:
        status = provider.status(JobHandle.parse("aws://us-east-1/digits-1234abcd"))
    assert status.state is JobState.FAILED
    assert status.message == "AlgorithmError: ExecuteUserScriptError: exit code 3"
    assert status.billable_seconds == 412
    assert status.metrics == {"val_loss": 0.25}


# -- rehearsal handles follow the local run ---------------------------------


class FakeLocal(Provider):
    """Stands in for the local provider; only the Provider API is used."""

    name = "local"
    options_model = type(make_spec().providers.local)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def _status(self, handle: JobHandle, state: JobState) -> JobStatus:
        return JobStatus(handle=str(handle), name="run", state=state, metrics={"loss": 0.1})

    def plan(self, spec: Any, ctx: Any) -> Plan:
        raise NotImplementedError

    def submit(self, plan: Plan) -> JobStatus:
        raise NotImplementedError

    def status(self, handle: JobHandle) -> JobStatus:
        self.calls.append(f"status {handle}")
        return self._status(handle, JobState.RUNNING)

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        self.calls.append(f"logs {handle} {follow}")
        yield "epoch=1 loss=0.1"

    def cancel(self, handle: JobHandle) -> JobStatus:
        self.calls.append(f"cancel {handle}")
        return self._status(handle, JobState.CANCELLED)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        return []


def test_rehearsal_handles_follow_the_local_run(monkeypatch: pytest.MonkeyPatch) -> None:
    local = FakeLocal()
    monkeypatch.setattr(RehearsalFollower, "runner", lambda self: local)
    handle = JobHandle.parse(
        "aws://us-east-1/digits-1234abcd?backend=moto&endpoint=http://127.0.0.1:9&run=/runs/digits"
    )
    provider = AwsProvider()
    status = provider.status(handle)
    assert status.state is JobState.RUNNING
    assert status.handle == str(handle)
    assert status.name == "run"  # the local run's status, under the cloud handle
    assert status.extra["rehearsal_run"] == "local:///runs/digits"
    assert list(provider.logs(handle, follow=True)) == ["epoch=1 loss=0.1"]
    assert provider.cancel(handle).state is JobState.CANCELLED
    assert local.calls == [
        "status local:///runs/digits",
        "logs local:///runs/digits True",
        "cancel local:///runs/digits",
    ]

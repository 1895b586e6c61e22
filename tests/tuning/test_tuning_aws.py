"""SageMaker tuning jobs against in-process moto (create/describe) and botocore Stubber
(per-trial listing and stop, which moto 5.2.5 lacks)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from tuning_helpers import NOW, make_spec

from cloudgd.bundle import build_bundle
from cloudgd.plan import BundleRef, JobHandle, JobState, RenderContext
from cloudgd.tuning.follow import TuningFollower
from providers.aws.provider import AwsProvider
from providers.aws.tuning import render_tuning
from providers.aws.tuning_jobs import submit_tuning

REGION = "us-east-1"


@pytest.fixture
def moto_aws() -> Iterator[None]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="cloudgd-artifacts")
        yield


@pytest.fixture
def bundle(tmp_path: Path) -> BundleRef:
    config = json.dumps(make_spec().trainer.model_dump(mode="json"), sort_keys=True)
    return build_bundle(config, None, tmp_path / "bundles")


def test_tune_creates_the_tuning_job_and_status_follows_it(
    moto_aws: None, bundle: BundleRef
) -> None:
    plan = render_tuning(make_spec(), RenderContext(now=NOW, bundle=bundle))
    provider = AwsProvider()
    status = submit_tuning(provider, plan)
    assert status.handle == plan.handle and plan.handle.endswith("?kind=tuning")
    described = boto3.client("sagemaker", region_name=REGION).describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=plan.job_name
    )
    assert (
        described["HyperParameterTuningJobConfig"] == plan.request["HyperParameterTuningJobConfig"]
    )
    assert (
        described["TrainingJobDefinition"]["StaticHyperParameters"]
        == (plan.request["TrainingJobDefinition"]["StaticHyperParameters"])
    )
    # the same name again attaches to the job instead of failing
    again = submit_tuning(provider, plan)
    assert again.name == status.name
    follower = TuningFollower(provider)
    followed = follower.status(JobHandle.parse(plan.handle))
    assert followed.state is JobState.SUCCEEDED  # moto completes tuning jobs at once
    assert followed.extra["kind"] == "tuning"


def _stubbed(responses: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> AwsProvider:
    client = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    for method, response, params in responses:
        stubber.add_response(method, response, params)
    stubber.activate()
    return AwsProvider(client_factory=lambda service, conn: client)


DESCRIBED = {
    "HyperParameterTuningJobName": "digits-0a1b2c3d",
    "HyperParameterTuningJobArn": (
        "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/digits-0a1b2c3d"
    ),
    "HyperParameterTuningJobConfig": {
        "Strategy": "Bayesian",
        "ResourceLimits": {"MaxParallelTrainingJobs": 2},
    },
    "HyperParameterTuningJobStatus": "InProgress",
    "CreationTime": datetime(2026, 1, 2, tzinfo=UTC),
    "TrainingJobStatusCounters": {"Completed": 1, "InProgress": 1},
    "ObjectiveStatusCounters": {"Succeeded": 1},
}
TRIALS = {
    "TrainingJobSummaries": [
        {
            "TrainingJobName": "digits-0a1b2c3d-001-aaaa",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/t1",
            "CreationTime": datetime(2026, 1, 2, tzinfo=UTC),
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": {"trainer.optimizer.lr": "0.01"},
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "val_loss", "Value": 0.5},
        }
    ]
}
NAME = {"HyperParameterTuningJobName": "digits-0a1b2c3d"}


def test_status_lists_each_trial_with_its_values_and_objective() -> None:
    provider = _stubbed(
        [
            ("describe_hyper_parameter_tuning_job", DESCRIBED, NAME),
            (
                "list_training_jobs_for_hyper_parameter_tuning_job",
                TRIALS,
                {**NAME, "MaxResults": 100},
            ),
        ]
    )
    status = TuningFollower(provider).status(
        JobHandle.parse("aws://us-east-1/digits-0a1b2c3d?kind=tuning")
    )
    assert status.state is JobState.RUNNING
    assert status.extra["trials"] == [
        {
            "name": "digits-0a1b2c3d-001-aaaa",
            "handle": "aws://us-east-1/digits-0a1b2c3d-001-aaaa",  # a training job's
            "state": "Completed",
            "params": {"trainer.optimizer.lr": "0.01"},
            "value": 0.5,
            "message": None,
        }
    ]


def test_cancel_stops_the_tuning_job() -> None:
    stopping = {**DESCRIBED, "HyperParameterTuningJobStatus": "Stopping"}
    provider = _stubbed(
        [
            ("describe_hyper_parameter_tuning_job", DESCRIBED, NAME),
            (
                "list_training_jobs_for_hyper_parameter_tuning_job",
                TRIALS,
                {**NAME, "MaxResults": 100},
            ),
            ("stop_hyper_parameter_tuning_job", {}, NAME),
            ("describe_hyper_parameter_tuning_job", stopping, NAME),
            (
                "list_training_jobs_for_hyper_parameter_tuning_job",
                TRIALS,
                {**NAME, "MaxResults": 100},
            ),
        ]
    )
    status = TuningFollower(provider).cancel(
        JobHandle.parse("aws://us-east-1/digits-0a1b2c3d?kind=tuning")
    )
    assert status.state is JobState.STOPPING


def test_logs_merge_every_trials_cloudwatch_streams_by_time(moto_aws: None) -> None:
    """Trials are training jobs: their streams (moto CloudWatch Logs) read as one log."""
    logs = boto3.client("logs", region_name=REGION)
    group = "/aws/sagemaker/TrainingJobs"
    logs.create_log_group(logGroupName=group)
    second = {
        **TRIALS["TrainingJobSummaries"][0],
        "TrainingJobName": "digits-0a1b2c3d-002-bbbb",
        "TrainingJobStatus": "InProgress",
    }
    now = int(datetime.now(UTC).timestamp() * 1000)  # CloudWatch drops events 14 days old
    written = {
        "digits-0a1b2c3d-001-aaaa/algo-1-1700000000": [
            (now + 1, "epoch 1 val_loss=0.9"),
            (now + 3, "epoch 2 val_loss=0.5"),
        ],
        "digits-0a1b2c3d-002-bbbb/algo-1-1700000001": [(now + 2, "epoch 1 val_loss=1.2")],
    }
    for stream, events in written.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in events],
        )
    sagemaker = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(sagemaker)
    stubber.add_response("describe_hyper_parameter_tuning_job", DESCRIBED, NAME)
    stubber.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"TrainingJobSummaries": [TRIALS["TrainingJobSummaries"][0]], "NextToken": "page-2"},
        {**NAME, "MaxResults": 100},
    )
    stubber.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"TrainingJobSummaries": [second]},
        {**NAME, "MaxResults": 100, "NextToken": "page-2"},
    )
    stubber.activate()
    provider = AwsProvider(
        client_factory=lambda service, conn: sagemaker if service == "sagemaker" else logs
    )
    lines = list(
        TuningFollower(provider).logs(
            JobHandle.parse("aws://us-east-1/digits-0a1b2c3d?kind=tuning")
        )
    )
    assert lines == [
        "[001-aaaa] epoch 1 val_loss=0.9",
        "[002-bbbb] epoch 1 val_loss=1.2",
        "[001-aaaa] epoch 2 val_loss=0.5",
    ]
    stubber.assert_no_pending_responses()  # both pages of trials were read


def test_logs_on_a_backend_that_cannot_list_trials_say_so(
    moto_aws: None, bundle: BundleRef
) -> None:
    plan = render_tuning(make_spec(), RenderContext(now=NOW, bundle=bundle))
    provider = AwsProvider()
    submit_tuning(provider, plan)
    [line] = TuningFollower(provider).logs(JobHandle.parse(plan.handle))
    assert line == f"{plan.job_name}: Completed (this backend does not list trials)"


def test_list_shows_tuning_jobs_with_tuning_handles(moto_aws: None, bundle: BundleRef) -> None:
    plan = render_tuning(make_spec(), RenderContext(now=NOW, bundle=bundle))
    provider = AwsProvider()
    submit_tuning(provider, plan)
    boto3.client("sagemaker", region_name=REGION).create_hyper_parameter_tuning_job(
        **{**plan.request, "HyperParameterTuningJobName": "someone-elses", "Tags": []}
    )
    [listed] = provider.list()  # only cloudgd's (tagged) study, not the other one
    assert listed.handle == plan.handle and listed.handle.endswith("?kind=tuning")
    assert listed.extra["kind"] == "tuning" and listed.state is JobState.SUCCEEDED
    assert provider.list(prefix="nothing-") == []


def test_list_without_permission_for_tuning_jobs_still_lists_training_jobs() -> None:
    """An IAM policy from before `cloudgd tune` allows ListTrainingJobs only."""
    sagemaker = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(sagemaker)
    listing = {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100}
    stubber.add_response("list_training_jobs", {"TrainingJobSummaries": []}, listing)
    stubber.add_client_error(
        "list_hyper_parameter_tuning_jobs",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: sagemaker:ListHyperParameterTuningJobs",
        http_status_code=400,
        expected_params=listing,
    )
    stubber.activate()
    provider = AwsProvider(region=REGION, client_factory=lambda service, conn: sagemaker)
    assert provider.list() == []
    stubber.assert_no_pending_responses()

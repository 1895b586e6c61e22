"""The boto3 layer: retries on throttling and 5xx, one-line credential errors, request checks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cloudgd.errors import CredentialsError, ProviderError
from cloudgd.plan import JobHandle, JobState
from providers.aws import client as aws
from providers.aws.provider import AwsProvider

DESCRIBED = {
    "TrainingJobName": "digits-1234abcd",
    "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/digits-1234abcd",
    "TrainingJobStatus": "InProgress",
    "SecondaryStatus": "Training",
    "CreationTime": 1767322800.0,
}


class FaultServer:
    """A SageMaker stand-in on 127.0.0.1 that answers with a scripted list of (status, body)."""

    def __init__(self, script: list[tuple[int, dict[str, Any]]]) -> None:
        self.script = list(script)
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(self.headers.get("X-Amz-Target", ""))
                status, body = outer.script.pop(0) if outer.script else (500, {})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-RequestId", f"req-{len(outer.requests)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


THROTTLED = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
UNAVAILABLE = (503, {"__type": "ServiceUnavailable", "message": "try again"})


@pytest.fixture
def handle() -> JobHandle:
    return JobHandle.parse("aws://us-east-1/digits-1234abcd")


@pytest.mark.parametrize("fault", [THROTTLED, UNAVAILABLE], ids=["throttled", "503"])
def test_a_transient_failure_is_retried_and_succeeds(
    fault: tuple[int, dict[str, Any]], handle: JobHandle
) -> None:
    with FaultServer([fault, (200, DESCRIBED)]) as server:
        status = AwsProvider(endpoint=server.url, max_attempts=3).status(handle)
    assert server.requests == ["SageMaker.DescribeTrainingJob"] * 2
    assert status.state is JobState.RUNNING


def test_endpoint_from_the_environment_means_rehearsal(
    handle: JobHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultServer([(200, DESCRIBED)]) as server:
        monkeypatch.setenv("CLOUDGD_AWS_ENDPOINT", server.url)
        provider = AwsProvider()
        status = provider.status(handle)
    assert provider.rehearsal
    assert status.extra["backend"] == "moto"
    assert status.console_url is None


def test_persistent_throttling_ends_in_one_clear_error(handle: JobHandle) -> None:
    with FaultServer([THROTTLED, THROTTLED]) as server, pytest.raises(ProviderError) as err:
        AwsProvider(endpoint=server.url, max_attempts=2).status(handle)
    assert len(server.requests) == 2
    assert "ThrottlingException" in err.value.message
    assert "\n" not in err.value.message


def test_missing_credentials_is_one_line_with_a_hint(handle: JobHandle) -> None:
    with pytest.raises(CredentialsError) as err:
        AwsProvider().status(handle)
    assert (
        err.value.message == "no AWS credentials found for describing training job digits-1234abcd"
    )
    assert "--backend moto" in (err.value.hint or "")


def test_unknown_profile_is_a_credentials_error(handle: JobHandle) -> None:
    with pytest.raises(CredentialsError, match="'nobody'"):
        AwsProvider(profile="nobody").status(handle)


def test_rejected_credentials_are_reported_as_such(handle: JobHandle) -> None:
    bad = (400, {"__type": "UnrecognizedClientException", "message": "invalid token"})
    with (
        FaultServer([bad]) as server,
        pytest.raises(CredentialsError, match="UnrecognizedClientException"),
    ):
        AwsProvider(endpoint=server.url).status(handle)


def test_an_unreachable_endpoint_says_where(handle: JobHandle) -> None:
    with FaultServer([]) as server:
        url = server.url  # closed again when the block ends
    with pytest.raises(ProviderError) as err:
        AwsProvider(endpoint=url, max_attempts=1).status(handle)
    assert url in err.value.message
    assert "--backend moto" in (err.value.hint or "")


@pytest.fixture
def good_request() -> Iterator[dict[str, Any]]:
    yield {
        "TrainingJobName": "digits-1234abcd",
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def test_a_good_request_has_no_problems(good_request: dict[str, Any]) -> None:
    assert aws.request_problems(good_request) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"TrainingJobName": "bad name!"}, "name pattern"),
        ({"Foo": 1}, 'Unknown parameter in input: "Foo"'),
        (
            {"ResourceConfig": {"InstanceType": "ml.bogus.xlarge", "InstanceCount": 1}},
            "not a SageMaker type",
        ),
        ({"EnableManagedSpotTraining": True}, "needs StoppingCondition.MaxWaitTimeInSeconds"),
        (
            {
                "EnableManagedSpotTraining": True,
                "CheckpointConfig": {"S3Uri": "s3://b/c/"},
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 60},
            },
            "must be >= MaxRuntimeInSeconds",
        ),
        ({"Environment": {"1BAD": "x"}}, "not a valid variable name"),
        ({"StoppingCondition": {"MaxRuntimeInSeconds": 0}}, "valid min value: 1"),
    ],
)
def test_request_checks_catch_what_botocore_alone_would_not(
    good_request: dict[str, Any], change: dict[str, Any], problem: str
) -> None:
    problems = aws.request_problems({**good_request, **change})
    assert any(problem in p for p in problems), problems

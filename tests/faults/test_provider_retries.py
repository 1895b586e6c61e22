"""Provider calls through a fault-injecting proxy: transient faults are retried, permanent
ones end as one line with exit code 3, and no job is created without being reported.

The real ``cloudgd`` CLI (in-process) and the real SDKs (botocore, the Vertex REST
transport, azure-core) talk to the local fakes (moto, the fake Vertex service, the
fake Azure ML service) through :mod:`tests.support.fault_proxy` on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from cloudgd.cli.main import cli
from tests.support.fault_proxy import Fault, FaultProxy, google_error, throttled_aws
from tests.support.serving import serving

pytestmark = pytest.mark.slow  # each test runs a fake cloud service

JOB: dict[str, Any] = {
    "name": "faulty-job",
    "trainer": {"epochs": 1, "data": {"source": "digits"}},
    "resources": {"accelerator": "none"},
    "limits": {"max_runtime": "1h"},
}


def cloudgd(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_one_line_exit_3(result: Result) -> None:
    assert result.exit_code == 3, (result.exit_code, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("cloudgd: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.fixture
def job_file(tmp_path: Path) -> str:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(JOB))
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- AWS: botocore's standard retry mode against moto ------------------------------
@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # moto's backends are process-wide: forget jobs an earlier test created here.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    try:
        yield url
    finally:
        server.stop()


def aws_target(operation: str) -> tuple[str, str]:
    return ("X-Amz-Target", rf"SageMaker\.{operation}$")


def test_aws_throttling_500s_and_resets_are_retried(job_file: str, moto_url: str) -> None:
    faults = [
        Fault(status=500, method="PUT", times=1),  # the bundle upload to S3
        Fault(kind="reset", method="PUT", times=1),
        Fault(**{**throttled_aws().__dict__, "header": aws_target("CreateTrainingJob")}),
        Fault(kind="reset", header=aws_target("CreateTrainingJob")),
        Fault(status=503, header=aws_target("DescribeTrainingJob")),
    ]
    with FaultProxy(moto_url, faults) as proxy:
        rehearse = ("--provider", "aws", "--backend", "moto", "--endpoint", proxy.url)
        submitted = cloudgd("-o", "json", "submit", job_file, *rehearse)
        assert submitted.exit_code == 0, submitted.stderr
        handle = json.loads(submitted.stdout)["handle"]
        status = cloudgd("-o", "json", "status", handle)
        assert status.exit_code == 0, status.stderr
        assert proxy.fired() == 5
        creates = [s for s in proxy.seen if s.outcome.startswith("forwarded")]
        assert creates


def test_aws_a_lost_create_answer_finds_the_job_it_created(job_file: str, moto_url: str) -> None:
    # CreateTrainingJob reaches moto, but the answer is lost: the retry must not leave a
    # job behind unreported (the deterministic name makes the second create collide).
    faults = [Fault(kind="reset", after=True, header=aws_target("CreateTrainingJob"))]
    with FaultProxy(moto_url, faults) as proxy:
        rehearse = ("--provider", "aws", "--backend", "moto", "--endpoint", proxy.url)
        submitted = cloudgd("-o", "json", "submit", job_file, *rehearse)
        assert proxy.fired() == 1
        listed = cloudgd("-o", "json", "list", "--provider", "aws", "--backend", "moto",
                         "--endpoint", proxy.url)  # fmt: skip
    assert submitted.exit_code == 0, submitted.stderr
    name = json.loads(submitted.stdout)["job_name"]
    assert listed.stdout.count(name) >= 1, listed.stdout
    assert [job["name"] for job in json.loads(listed.stdout)["jobs"]] == [name]


def test_aws_permanent_errors_are_one_line_and_exit_3(job_file: str, moto_url: str) -> None:
    body = b'{"__type": "ValidationException", "message": "RoleArn is not valid\\nsecond line"}'
    refuse = Fault(
        status=400,
        body=body,
        headers={"Content-Type": "application/x-amz-json-1.1"},
        header=aws_target("CreateTrainingJob"),
        times=100,
    )
    with FaultProxy(moto_url, [refuse]) as proxy:
        rehearse = ("--provider", "aws", "--backend", "moto", "--endpoint", proxy.url)
        result = cloudgd("submit", job_file, *rehearse)
        assert refuse.fired == 1  # not retried: a validation error will not go away
        listed = cloudgd("-o", "json", "list", "--provider", "aws", "--backend", "moto",
                         "--endpoint", proxy.url)  # fmt: skip
    assert_one_line_exit_3(result)
    assert listed.exit_code == 0, listed.stderr
    assert "faulty-job" not in listed.stdout  # nothing was created behind the user's back


# -- GCP: the Vertex REST transport against the fake service ----------------------
@pytest.fixture
def vertex() -> Iterator[Any]:
    """The fake Vertex AI server (its ``store`` holds the jobs), stopped after the test."""
    from providers.gcp.rehearsal.fake import Phases, make_server

    server = make_server(phases=Phases(queued=0.2, pending=0.2, running=1.0, cancelling=0.2))
    with serving(server):
        yield server


@pytest.fixture
def vertex_url(vertex: Any) -> str:
    return f"http://127.0.0.1:{vertex.server_address[1]}"


def test_gcp_429_and_503_are_retried(job_file: str, vertex_url: str) -> None:
    create = r"/customJobs(\?|$)"
    faults = [
        Fault(status=429, body=google_error(429, "RESOURCE_EXHAUSTED"), method="POST", path=create),
        Fault(status=503, body=google_error(503, "UNAVAILABLE"), method="POST", path=create),
        Fault(status=503, body=google_error(503, "UNAVAILABLE"), method="GET", path="customJobs/"),
    ]
    with FaultProxy(vertex_url, faults) as proxy:
        rehearse = ("--provider", "gcp", "--backend", "fake", "--endpoint", proxy.url)
        submitted = cloudgd("-o", "json", "submit", job_file, *rehearse)
        assert submitted.exit_code == 0, submitted.stderr
        status = cloudgd("-o", "json", "status", json.loads(submitted.stdout)["handle"])
        assert status.exit_code == 0, status.stderr
        assert proxy.fired() == 3


def test_gcp_a_connection_reset_is_retried(job_file: str, vertex_url: str) -> None:
    faults = [Fault(kind="reset", method="GET", path="customJobs/")]
    with FaultProxy(vertex_url, faults) as proxy:
        rehearse = ("--provider", "gcp", "--backend", "fake", "--endpoint", proxy.url)
        submitted = cloudgd("-o", "json", "submit", job_file, *rehearse)
        assert submitted.exit_code == 0, submitted.stderr
        status = cloudgd("-o", "json", "status", json.loads(submitted.stdout)["handle"])
        assert proxy.fired() == 1
    assert status.exit_code == 0, status.stderr


def test_gcp_permanent_errors_are_one_line_and_exit_3(job_file: str, vertex_url: str) -> None:
    refuse = Fault(
        status=400,
        body=google_error(400, "INVALID_ARGUMENT"),
        method="POST",
        path=r"/customJobs(\?|$)",
        times=100,
    )
    with FaultProxy(vertex_url, [refuse]) as proxy:
        rehearse = ("--provider", "gcp", "--backend", "fake", "--endpoint", proxy.url)
        result = cloudgd("submit", job_file, *rehearse)
        assert refuse.fired == 1
    assert_one_line_exit_3(result)


# -- Azure: azure-core's RetryPolicy against the TLS fake --------------------------
@pytest.fixture
def azure_url(tmp_path: Path) -> Iterator[str]:
    from providers.azure.rehearsal.fake import serve
    from providers.azure.rehearsal.fake_store import FakeStore

    server = serve("127.0.0.1", 0, FakeStore(step_seconds=0.2, run_steps=3))
    with serving(server):
        yield server.plain_url


def azure_proxy(url: str, faults: list[Fault]) -> FaultProxy:
    from providers.azure.rehearsal.fake_common import CERT_ROUTE

    return FaultProxy(url, faults, tls=True, cert_route=CERT_ROUTE)


def test_azure_throttling_500s_and_resets_are_retried(job_file: str, azure_url: str) -> None:
    faults = [
        Fault(status=429, method="PUT", path="/jobs/", headers={"Retry-After": "0"}),
        Fault(status=500, method="PUT", path="/jobs/"),
        Fault(kind="reset", method="GET", path="/jobs/"),
    ]
    with azure_proxy(azure_url, faults) as proxy:
        rehearse = ("--provider", "azure", "--backend", "fake", "--endpoint", proxy.url)
        submitted = cloudgd("-o", "json", "submit", job_file, *rehearse)
        assert submitted.exit_code == 0, submitted.stderr
        status = cloudgd("-o", "json", "status", json.loads(submitted.stdout)["handle"])
        assert status.exit_code == 0, status.stderr
        assert proxy.fired() == 3


def test_azure_permanent_errors_are_one_line_and_exit_3(job_file: str, azure_url: str) -> None:
    body = b'{"error": {"code": "UserError", "message": "compute is not valid"}}'
    refuse = Fault(status=400, body=body, method="PUT", path="/jobs/", times=100)
    with azure_proxy(azure_url, [refuse]) as proxy:
        rehearse = ("--provider", "azure", "--backend", "fake", "--endpoint", proxy.url)
        result = cloudgd("submit", job_file, *rehearse)
        assert refuse.fired == 1
    assert_one_line_exit_3(result)


def test_gcp_a_lost_create_answer_is_reported_and_a_resubmit_attaches(
    job_file: str, vertex: Any, vertex_url: str
) -> None:
    # The create reached the service but its answer was lost. Not retried blindly (Vertex
    # assigns the ID, so a blind retry could start a second job): one line, exit 3, and
    # the same submit again finds the job that was created instead of starting another.
    create = r"/customJobs(\?|$)"
    lost = Fault(kind="reset", after=True, method="POST", path=create)
    with FaultProxy(vertex_url, [lost]) as proxy:
        rehearse = ("--provider", "gcp", "--backend", "fake", "--endpoint", proxy.url)
        first = cloudgd("submit", job_file, *rehearse)
        again = cloudgd("-o", "json", "submit", job_file, *rehearse)
    assert lost.fired == 1
    assert_one_line_exit_3(first)
    assert again.exit_code == 0, again.stderr
    assert len(vertex.store._jobs) == 1  # the job the lost answer was about, not a second

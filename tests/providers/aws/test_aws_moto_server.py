"""End to end against a real, detached moto server started through cloudgd.servers.

submit → status (from another process, with the handle alone) → logs → cancel, the
way `cloudgd submit --provider aws --backend moto` and later commands use it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_helpers import make_ctx, make_spec

from cloudgd import servers
from cloudgd.plan import BundleRef, JobHandle, JobState
from providers.aws.logs import LOG_GROUP
from providers.aws.provider import AwsProvider
from providers.aws.render import REHEARSAL_OUTPUT

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


@pytest.fixture
def moto_server() -> Iterator[None]:
    """Stops the moto server the test starts (through cloudgd.servers)."""
    try:
        yield
    finally:
        servers.stop("moto")


def test_rehearsal_round_trip(moto_server: None, real_bundle: BundleRef) -> None:
    provider = AwsProvider(backend="moto", log_poll_seconds=0.05)
    plan = provider.plan(
        make_spec(providers={}, resources={"nodes": 2}), make_ctx(bundle=real_bundle)
    )
    assert plan.request["OutputDataConfig"]["S3OutputPath"] == REHEARSAL_OUTPUT + "/"

    submitted = provider.submit(plan)
    handle = JobHandle.parse(submitted.handle)
    endpoint = handle.params["endpoint"]
    assert handle.params["backend"] == "moto"
    assert endpoint == servers.running("moto")
    assert submitted.console_url is None

    # A later CLI call: a fresh process that only has the handle.
    code = (
        "import json, sys\n"
        "from cloudgd.plan import JobHandle\n"
        "from providers.aws.provider import AwsProvider\n"
        "s = AwsProvider().status(JobHandle.parse(sys.argv[1]))\n"
        "print(json.dumps({'state': s.state.value, 'name': s.name}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code, submitted.handle],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout) == {"state": "SUCCEEDED", "name": plan.job_name}

    keys = dict(aws_access_key_id="testing", aws_secret_access_key="testing")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
    code_key = plan.uploads[0].destination.split("/", 3)[3]
    assert s3.head_object(Bucket="cloudgd-rehearsal", Key=code_key)["ContentLength"] > 0

    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1", **keys)
    logs.create_log_group(logGroupName=LOG_GROUP)
    now = int(time.time() * 1000)
    for host, offset in (("algo-1", 0), ("algo-2", 1)):
        stream = f"{plan.job_name}/{host}-1700000000"
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": now + offset, "message": f"{host} epoch=1 loss=0.4"}],
        )
    lines = list(AwsProvider().logs(handle, follow=True))
    assert lines == ["[algo-1] algo-1 epoch=1 loss=0.4", "[algo-2] algo-2 epoch=1 loss=0.4"]

    # moto ends every job at once, so cancel is the idempotent no-op on an ended job.
    assert AwsProvider().cancel(handle).state is JobState.SUCCEEDED
    assert AwsProvider(backend="moto").submit(plan).extra["note"] == "already submitted"
    listed = AwsProvider(backend="moto").list(prefix="digits-")
    assert [s.name for s in listed] == [plan.job_name]


def test_report_and_download_of_a_rehearsal_only_job_exit_3_pointing_at_run_local(
    moto_server: None, real_bundle: BundleRef, tmp_path: Path
) -> None:
    """moto runs nothing, so there is nothing to report on: a user error (3), never the
    internal-error code (1), and the hint says how to rehearse with a real run."""
    from click.testing import CliRunner

    from cloudgd.cli.main import cli

    provider = AwsProvider(backend="moto")
    plan = provider.plan(make_spec(providers={}), make_ctx(bundle=real_bundle))
    handle = provider.submit(plan).handle
    for args in (["report", handle, "--out", str(tmp_path)], ["download", handle]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 3, result.stderr
        assert "--run-local" in result.stderr and "internal error" not in result.stderr

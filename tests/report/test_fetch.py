"""fetch_run_files: every provider hands the report a directory with the trainer's files.

Local runs answer with their output dir; AWS reads output.tar.gz from S3 (moto),
Vertex AI reads <baseOutputDirectory>/output/ from GCS (the fake), Azure ML reads
the job's ``metrics`` output folder from blob storage (the fake).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloudgd.bundle import build_bundle
from cloudgd.errors import ProviderError
from cloudgd.plan import BundleRef, JobHandle, RenderContext
from cloudgd.report.runfiles import NoMetricsError, load_run
from cloudgd.spec import JobSpec
from providers import rehearsal_follow
from providers.local.provider import LocalProvider
from tests.report.conftest import WriteRun, tar_gz, trainer_records
from tests.report.test_live import HANDLE, _Lines
from tests.support.serving import serving

RECORDS = trainer_records(epochs=2, steps_per_epoch=4)
NOW_CTX = {"now": "2026-01-02T03:04:05+00:00"}


def _spec(providers: dict[str, Any]) -> JobSpec:
    return JobSpec.model_validate(
        {"name": "digits", "trainer": {"epochs": 2}, "providers": providers}
    )


def _bundle(tmp_path: Path, fmt: str = "tar.gz") -> BundleRef:
    return build_bundle('{"epochs": 2}', None, tmp_path / "bundles", fmt)


def _metrics_bytes() -> dict[str, bytes]:
    lines = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    return {"metrics.jsonl": lines, "summary.json": json.dumps({"steps": 8}).encode()}


def test_a_local_run_answers_with_its_output_dir(local_run: WriteRun) -> None:
    run = local_run(records=RECORDS)
    directory = LocalProvider().fetch_run_files(JobHandle(provider="local", parts=(str(run),)))
    assert directory == run / "output"
    assert len(load_run(directory, "x").epochs) == 2


def test_a_rehearsal_handle_answers_with_its_local_run_on_any_provider(local_run: WriteRun) -> None:
    run = local_run(records=RECORDS)
    handle = JobHandle.parse(f"aws://us-east-1/digits-1?backend=moto&run={run}")
    assert rehearsal_follow.local_run(handle) is not None
    assert _Lines().fetch_run_files(handle) == run / "output"


def test_a_provider_that_cannot_fetch_says_so() -> None:
    with pytest.raises(ProviderError, match="cannot fetch a job's metrics files"):
        _Lines().fetch_run_files(HANDLE)


# -- AWS (moto) ------------------------------------------------------------------------


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    from moto import mock_aws

    for var in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "CLOUDGD_AWS_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_aws_reads_the_files_from_the_jobs_output_archive(moto_aws: None, tmp_path: Path) -> None:
    import boto3

    from providers.aws.provider import AwsProvider

    role = "arn:aws:iam::123456789012:role/cloudgd-sagemaker"
    spec = _spec({"aws": {"role_arn": role, "output_uri": "s3://cloudgd-out/jobs"}})
    provider = AwsProvider(region="us-east-1")
    plan = provider.plan(spec, RenderContext(**NOW_CTX, bundle=_bundle(tmp_path)))
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="cloudgd-out")
    handle = JobHandle.parse(provider.submit(plan).handle)

    with pytest.raises(NoMetricsError, match="no metrics yet") as raised:
        provider.fetch_run_files(handle)
    assert "when the job ends" in (raised.value.hint or "")

    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket="cloudgd-out",
        Key=f"jobs/{handle.job}/output/output.tar.gz",
        Body=tar_gz(_metrics_bytes()),
    )
    directory = provider.fetch_run_files(handle)
    run = load_run(directory, handle.job)
    assert [r["step"] for r in run.epochs] == [4, 8]
    assert run.summary == {"steps": 8}
    assert not (directory / "output.tar.gz").exists()


# -- GCP (fake Vertex AI + GCS) ---------------------------------------------------------


@pytest.fixture
def gcp_fake() -> Iterator[str]:
    from providers.gcp.rehearsal.fake import make_server

    server = make_server()
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.slow
def test_gcp_reads_the_files_beside_the_model_dir(gcp_fake: str, tmp_path: Path) -> None:
    from providers.gcp.client import make_api
    from providers.gcp.provider import GcpProvider

    project, bucket = "cloudgd-test-123", "gs://cloudgd-test-staging"
    spec = _spec({"gcp": {"project": project, "staging_bucket": bucket}})
    provider = GcpProvider(backend="fake", endpoint=gcp_fake)
    plan = provider.plan(spec, RenderContext(**NOW_CTX, bundle=_bundle(tmp_path, "sdist")))
    handle = JobHandle.parse(provider.submit(plan).handle)

    with pytest.raises(NoMetricsError, match="no metrics yet"):
        provider.fetch_run_files(handle)

    base = plan.request["customJob"]["jobSpec"]["baseOutputDirectory"]["outputUriPrefix"]
    api = make_api(location="us-central1", endpoint=gcp_fake, project=project)
    for name, data in _metrics_bytes().items():
        source = tmp_path / name
        source.write_bytes(data)
        api.upload(str(source), f"{base}output/{name}", None, project)
    run = load_run(provider.fetch_run_files(handle), handle.job)
    assert len(run.steps) == 4 and run.summary == {"steps": 8}


# -- Azure ML (fake) ---------------------------------------------------------------------


@dataclass(frozen=True)
class AzureJob:
    """A job submitted to a running fake Azure ML service, and the fake's store."""

    store: Any  # providers.azure.rehearsal.fake_store.FakeStore, imported lazily
    provider: Any  # providers.azure.provider.AzureProvider
    handle: JobHandle


@pytest.fixture
def azure_job(tmp_path: Path) -> Iterator[AzureJob]:
    from providers.azure.provider import AzureProvider
    from providers.azure.rehearsal.fake import serve
    from providers.azure.rehearsal.fake_store import FakeStore

    store = FakeStore(step_seconds=0.2, run_steps=3)
    server = serve("127.0.0.1", 0, store, tmp_path / "requests.log")
    with serving(server):
        workspace = {
            "subscription_id": "11111111-2222-3333-4444-555555555555",
            "resource_group": "ml-rg",
            "workspace": "ml-ws",
            "manage_compute": True,
        }
        provider = AzureProvider(backend="fake", endpoint=server.plain_url, poll_seconds=0.1)
        plan = provider.plan(
            _spec({"azure": workspace}), RenderContext(**NOW_CTX, bundle=_bundle(tmp_path))
        )
        yield AzureJob(store, provider, JobHandle.parse(provider.submit(plan).handle))


@pytest.mark.slow
def test_azure_reads_the_files_from_the_metrics_output(azure_job: AzureJob) -> None:
    from providers.azure.rehearsal.fake_common import UPLOAD_CONTAINER

    provider, handle = azure_job.provider, azure_job.handle
    with pytest.raises(NoMetricsError, match="no metrics yet"):
        provider.fetch_run_files(handle)

    for name, data in _metrics_bytes().items():
        azure_job.store.put_blob(UPLOAD_CONTAINER, f"azureml/{handle.job}/metrics/{name}", data, {})
    run = load_run(provider.fetch_run_files(handle), handle.job)
    assert len(run.epochs) == 2 and run.summary == {"steps": 8}

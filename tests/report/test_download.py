"""``cloudgd download`` / ``Provider.download``: a job's model and outputs in DEST/model and
DEST/output, from a local run, a rehearsal's local run, SageMaker's archives in S3 (moto)
or a Vertex AI job's folders in Cloud Storage (the fake).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloudgd.cli.main import cli
from cloudgd.errors import ProviderError, UsageError
from cloudgd.plan import JobHandle, RenderContext
from providers.local.provider import LocalProvider
from tests.report.conftest import WriteRun, tar_gz, trainer_records
from tests.report.test_fetch import (
    NOW_CTX,
    AzureJob,
    _bundle,
    _metrics_bytes,
    _spec,
    azure_job,
    gcp_fake,
    moto_aws,
)
from tests.report.test_live import HANDLE, _Lines

__all__ = ["azure_job", "gcp_fake", "moto_aws"]  # the fixtures, used by name below

RECORDS = trainer_records(epochs=2, steps_per_epoch=4)


def _finished_run(local_run: WriteRun) -> Path:
    """A local run with metrics and a saved model, as the trainer leaves it."""
    run = local_run(records=RECORDS)
    (run / "model").mkdir()
    (run / "model" / "model.pt").write_bytes(b"\x00" * 2048)
    return run


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_local_run_downloads_model_and_outputs_with_progress(
    local_run: WriteRun, tmp_path: Path
) -> None:
    run = _finished_run(local_run)
    seen: list[tuple[str, int]] = []
    dest = tmp_path / "got"
    written = LocalProvider().download(
        JobHandle(provider="local", parts=(str(run),)),
        dest,
        progress=lambda name, size: seen.append((name, size)),
    )
    assert _files(dest) == ["model/model.pt", "output/metrics.jsonl", "output/summary.json"]
    assert sorted(written) == sorted(dest / f for f in _files(dest))
    assert ("model/model.pt", 2048) in seen and len(seen) == 3
    assert (dest / "output" / "metrics.jsonl").read_bytes() == (
        run / "output" / "metrics.jsonl"
    ).read_bytes()


def test_a_download_never_writes_over_an_existing_folder(
    local_run: WriteRun, tmp_path: Path
) -> None:
    run = _finished_run(local_run)
    dest = tmp_path / "got"
    (dest / "output").mkdir(parents=True)
    (dest / "output" / "mine.txt").write_text("keep me")
    with pytest.raises(UsageError, match="already exists"):
        LocalProvider().download(JobHandle(provider="local", parts=(str(run),)), dest)
    assert _files(dest) == ["output/mine.txt"]


def test_a_rehearsal_handle_downloads_its_local_run(local_run: WriteRun, tmp_path: Path) -> None:
    run = _finished_run(local_run)
    handle = JobHandle.parse(f"aws://us-east-1/digits-1?backend=moto&run={run}")
    _Lines().download(handle, tmp_path / "got")
    assert "model/model.pt" in _files(tmp_path / "got")


def test_a_provider_that_cannot_download_says_so(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="cannot download"):
        _Lines().download(HANDLE, tmp_path / "got")


def test_aws_unpacks_the_jobs_model_and_output_archives(moto_aws: None, tmp_path: Path) -> None:
    import boto3

    from providers.aws.provider import AwsProvider

    role = "arn:aws:iam::123456789012:role/cloudgd-sagemaker"
    spec = _spec({"aws": {"role_arn": role, "output_uri": "s3://cloudgd-out/jobs"}})
    provider = AwsProvider(region="us-east-1")
    plan = provider.plan(spec, RenderContext(**NOW_CTX, bundle=_bundle(tmp_path)))
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="cloudgd-out")
    handle = JobHandle.parse(provider.submit(plan).handle)

    with pytest.raises(ProviderError, match="nothing to download yet"):
        provider.download(handle, tmp_path / "early")
    assert not (tmp_path / "early").exists()

    prefix = f"jobs/{handle.job}/output"
    model = tar_gz({"model.pt": b"weights", "config.json": b"{}"})
    s3.put_object(Bucket="cloudgd-out", Key=f"{prefix}/model.tar.gz", Body=model)
    output = tar_gz(_metrics_bytes())
    s3.put_object(Bucket="cloudgd-out", Key=f"{prefix}/output.tar.gz", Body=output)
    dest = tmp_path / "got"
    provider.download(handle, dest)
    assert _files(dest) == [
        "model/config.json",
        "model/model.pt",
        "output/metrics.jsonl",
        "output/summary.json",
    ]
    assert (dest / "model" / "model.pt").read_bytes() == b"weights"


def test_an_archive_member_cannot_escape_the_destination(tmp_path: Path) -> None:
    from cloudgd.download import unpack

    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(tar_gz({"../outside.txt": b"x"}))
    with pytest.raises(Exception, match="outside"):
        unpack(archive, tmp_path / "dest", "model")
    assert not (tmp_path / "dest" / "outside.txt").exists()
    assert not (tmp_path / "outside.txt").exists()


def test_the_command_prints_each_file_on_stderr_and_the_folder_on_stdout(
    local_run: WriteRun, tmp_path: Path
) -> None:
    run = _finished_run(local_run)
    dest = tmp_path / "got"
    result = CliRunner().invoke(cli, ["download", f"local://{run}", "--dest", str(dest)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(dest)
    assert "model/model.pt  2.0 KB" in result.stderr
    assert "downloaded 3 file(s)" in result.stderr

    again = CliRunner().invoke(cli, ["download", f"local://{run}", "--dest", str(dest)])
    assert again.exit_code == 2 and "already exists" in again.stderr

    listed = CliRunner().invoke(
        cli, ["-o", "json", "download", f"local://{run}", "--dest", str(tmp_path / "json")]
    )
    assert json.loads(listed.stdout)["files"] == [
        "model/model.pt",
        "output/metrics.jsonl",
        "output/summary.json",
    ]


def test_the_command_exits_3_for_a_run_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["download", f"local://{tmp_path}/nope"])
    assert result.exit_code == 3
    assert "no local run" in result.stderr


@pytest.mark.slow
def test_gcp_copies_the_model_and_output_folders_from_cloud_storage(
    gcp_fake: str, tmp_path: Path
) -> None:
    from providers.gcp.client import make_api
    from providers.gcp.provider import GcpProvider

    project, bucket = "cloudgd-test-123", "gs://cloudgd-test-staging"
    spec = _spec({"gcp": {"project": project, "staging_bucket": bucket}})
    provider = GcpProvider(backend="fake", endpoint=gcp_fake)
    plan = provider.plan(spec, RenderContext(**NOW_CTX, bundle=_bundle(tmp_path, "sdist")))
    handle = JobHandle.parse(provider.submit(plan).handle)

    with pytest.raises(ProviderError, match="nothing to download yet"):
        provider.download(handle, tmp_path / "early")

    base = plan.request["customJob"]["jobSpec"]["baseOutputDirectory"]["outputUriPrefix"]
    api = make_api(location="us-central1", endpoint=gcp_fake, project=project)
    files = {"model/model.pt": b"weights", "model/sub/config.json": b"{}", **{
        f"output/{name}": data for name, data in _metrics_bytes().items()
    }}  # fmt: skip
    for name, data in files.items():
        source = tmp_path / "up"
        source.write_bytes(data)
        api.upload(str(source), f"{base}{name}", None, project)
    seen: list[str] = []
    dest = tmp_path / "got"
    provider.download(handle, dest, progress=lambda name, _size: seen.append(name))
    assert _files(dest) == sorted(files)
    assert sorted(seen) == sorted(files)
    assert (dest / "model" / "model.pt").read_bytes() == b"weights"


@pytest.mark.slow
def test_azure_copies_the_model_and_metrics_outputs_from_blob_storage(
    azure_job: AzureJob, tmp_path: Path
) -> None:
    from providers.azure.rehearsal.fake_common import UPLOAD_CONTAINER

    provider, handle = azure_job.provider, azure_job.handle
    with pytest.raises(ProviderError, match="nothing to download yet"):
        provider.download(handle, tmp_path / "early")

    files = {"model/model.pt": b"weights", "output/metrics.jsonl": b"{}\n"}
    folders = {"model": "model", "output": "metrics"}
    for name, data in files.items():
        part, _, rest = name.partition("/")
        key = f"azureml/{handle.job}/{folders[part]}/{rest}"
        azure_job.store.put_blob(UPLOAD_CONTAINER, key, data, {})
    dest = tmp_path / "got"
    provider.download(handle, dest)
    assert _files(dest) == sorted(files)
    assert (dest / "model" / "model.pt").read_bytes() == b"weights"

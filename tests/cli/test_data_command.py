"""``cloudgd data upload`` and ``submit --data-from``: local data put where the job reads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from cloudgd import registry

from .conftest import Invoke
from .fakes import FakeAwsProvider


class UploadingAws(FakeAwsProvider):
    """The fake aws provider, with the upload hook every cloud provider can offer."""

    uploads: ClassVar[list[tuple[str, str, str]]] = []

    def upload_data(self, path: Path, uri: str) -> list[str]:
        self.uploads.append((path.name, uri, self.backend))
        return [uri.rstrip("/") + "/" + path.name if uri.endswith("/") else uri]


@pytest.fixture
def uploading_aws(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    UploadingAws.uploads = []
    info = registry.ProviderInfo("aws", f"{__name__}:UploadingAws", None, (), "fake aws")
    monkeypatch.setitem(registry.BUILTINS, "aws", info)
    return UploadingAws.uploads


@pytest.fixture
def data_file(tmp_path: Path) -> str:
    path = tmp_path / "train.csv"
    path.write_text("label,x\n0,1\n")
    return str(path)


def test_upload_picks_the_cloud_from_the_uri_and_prints_what_it_wrote(
    invoke: Invoke, uploading_aws: list[tuple[str, str, str]], data_file: str
) -> None:
    result = invoke("data", "upload", data_file, "s3://cloudgd-rehearsal/data/", "--backend",
                    "moto")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "s3://cloudgd-rehearsal/data/train.csv"
    assert uploading_aws == [("train.csv", "s3://cloudgd-rehearsal/data/", "moto")]


def test_upload_refuses_a_uri_whose_cloud_it_cannot_tell(invoke: Invoke, data_file: str) -> None:
    result = invoke("data", "upload", data_file, "ftp://host/x")
    assert result.exit_code == 2
    assert "ftp://host/x" in result.stderr and "--provider" in result.stderr


def test_upload_refuses_a_provider_without_an_upload_hook(
    invoke: Invoke, fake_aws: None, data_file: str
) -> None:
    result = invoke("data", "upload", data_file, "s3://b/x", "--backend", "moto")
    assert result.exit_code == 2
    assert "provider aws cannot upload data" in result.stderr


def test_submit_data_from_uploads_to_the_specs_uri_first(
    invoke: Invoke,
    uploading_aws: list[tuple[str, str, str]],
    data_file: str,
    job_file: Callable[..., str],
) -> None:
    job = job_file()
    uri = "trainer.data.uri=s3://cloudgd-rehearsal/d/train.csv"
    base = ("submit", job, "-p", "aws", "--backend", "moto", "--data-from", data_file)
    dry = invoke(*base, "--set", uri, "--set", "trainer.data.source=csv", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert uploading_aws == []  # a dry run sends nothing
    result = invoke(*base, "--set", uri, "--set", "trainer.data.source=csv")
    assert result.exit_code == 0, result.output
    assert uploading_aws == [("train.csv", "s3://cloudgd-rehearsal/d/train.csv", "moto")]


def test_submit_data_from_needs_a_cloud_uri_to_upload_to(
    invoke: Invoke,
    uploading_aws: list[tuple[str, str, str]],
    data_file: str,
    job_file: Callable[..., str],
) -> None:
    result = invoke("submit", job_file(), "-p", "aws", "--backend", "moto",
                    "--data-from", data_file)  # fmt: skip
    assert result.exit_code == 2
    assert "trainer.data.uri" in result.stderr
    assert uploading_aws == []

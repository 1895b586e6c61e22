"""The real `cloudgd` CLI driving Vertex AI through the real SDK clients and the fake service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from gcp_helpers import Fake
from google.cloud import aiplatform_v1

cli_main = pytest.importorskip(
    "cloudgd.cli.main", reason="the cloudgd CLI (issue 3) is not on this branch yet"
)
pytestmark = pytest.mark.slow  # runs the fake service

JOB = {
    "name": "digits-cli",
    "trainer": {"epochs": 1, "data": {"source": "digits"}},
    "resources": {"accelerator": "T4:1"},
    # The catalog has only a Compute Engine stand-in for Vertex, so the budget needs a rate
    # the user vouches for (a stand-in never enforces one).
    "limits": {"max_runtime": "1h", "max_cost_usd": 5, "price_per_hour_usd": 1.0},
}


def cloudgd(*args: str) -> tuple[int, str, str]:
    """Run `cloudgd ARGS` in-process: (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    result = CliRunner().invoke(cli_main.cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def job_file(tmp_path: Path) -> str:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(JOB))
    return str(path)


def test_plan_shows_a_strict_custom_job_without_any_gcp_settings(job_file: str, fake: Fake) -> None:
    code, out, _ = cloudgd(
        "--output", "json", "plan", job_file, "-p", "gcp", "--backend", "fake",
        "--endpoint", fake.url,
    )  # fmt: skip
    assert code == 0
    plan = json.loads(out)
    body = plan["request"]["customJob"]
    aiplatform_v1.CustomJob.from_json(json.dumps(body), ignore_unknown_fields=False)
    assert body["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]["acceleratorType"] == (
        "NVIDIA_TESLA_T4"
    )


def test_submit_status_logs_and_resubmit_through_the_cli(job_file: str, fake: Fake) -> None:
    rehearse = ("-p", "gcp", "--backend", "fake", "--endpoint", fake.url)
    code, out, err = cloudgd(
        "--output", "json", "submit", job_file, *rehearse, "--idempotency-key", "cli-1"
    )
    assert code == 0, err
    handle = json.loads(out)["handle"]
    assert handle.startswith("gcp://cloudgd-rehearsal/us-central1/")

    code, out, _ = cloudgd("logs", handle, "--follow")
    assert code == 0 and "Job completed successfully." in out

    code, out, _ = cloudgd("--output", "json", "status", handle)
    assert code == 0 and json.loads(out)["state"] == "SUCCEEDED"

    code, out, _ = cloudgd(
        "--output", "json", "submit", job_file, *rehearse, "--idempotency-key", "cli-1"
    )
    assert code == 0 and json.loads(out)["handle"] == handle


def test_a_cancelled_job_makes_wait_exit_4(job_file: str, fake: Fake) -> None:
    code, out, err = cloudgd(
        "--output", "json", "submit", job_file, "-p", "gcp", "--backend", "fake",
        "--endpoint", fake.url, "--idempotency-key", "cli-2",
    )  # fmt: skip
    assert code == 0, err
    handle = json.loads(out)["handle"]
    assert cloudgd("cancel", handle)[0] == 0
    code, _, err = cloudgd("wait", handle, "--poll", "0.05")
    assert code == 4 and "CANCELLED" in err


def test_missing_credentials_exit_3_with_one_line(
    job_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.auth.compute_engine import _metadata

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)
    code, _, err = cloudgd("status", "gcp://my-project-1/us-central1/123")
    assert code == 3
    assert "no Google Cloud credentials found" in err and "Traceback" not in err


def test_list_finds_jobs_in_the_project_of_the_user_config(
    job_file: str, fake: Fake, cloudgd_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`list` looks where `plan` puts jobs: the project in config.yaml, not only the env's."""
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("CLOUDSDK_CORE_PROJECT", raising=False)
    cloudgd_home.mkdir(parents=True, exist_ok=True)
    (cloudgd_home / "config.yaml").write_text(
        "providers:\n  gcp:\n    project: my-config-proj\n    staging_bucket: gs://my-config-b\n"
    )
    rehearse = ("-p", "gcp", "--backend", "fake", "--endpoint", fake.url)
    code, out, err = cloudgd("-o", "json", "submit", job_file, *rehearse, "--idempotency-key", "l")
    assert code == 0, err
    handle = json.loads(out)["handle"]
    assert handle.startswith("gcp://my-config-proj/")

    code, out, err = cloudgd("-o", "json", "list", *rehearse)
    assert code == 0, err
    assert [job["handle"] for job in json.loads(out)["jobs"]] == [handle]
    code, out, _ = cloudgd("-o", "json", "list", *rehearse, "--state", "failed")
    assert code == 0 and json.loads(out)["jobs"] == []

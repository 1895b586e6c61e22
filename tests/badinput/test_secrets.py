"""Secrets never show: not in plans (text, JSON, --out), submit output, status, logs or run files.

Two kinds of secret: values behind ``secrets:`` references (the spec holds only a
reference; the local run reads the value from the environment), and credentials
pasted into ``env:`` (the job still gets them; nothing cloudgd prints or writes does).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudgd.plan import JobHandle, RenderContext
from cloudgd.redact import REDACTED, looks_like_credential, redact_plan
from cloudgd.spec import JobSpec
from providers.local.provider import LocalProvider
from tests.badinput.conftest import Invoke

REPO = Path(__file__).resolve().parents[2]

# Credentials pasted into env (one caught by its name, one by its shape, one by both).
ENV_CREDENTIALS = {
    "WANDB_API_KEY": "wandb-0c7e1f5d2b9a48e6b3f1",
    "UPLOAD_URL": "https://bob:hunter2-pw-1f9a@example.com/upload",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
# Values behind `secrets:` references, present only in the environment of the submitting shell.
SECRET_VALUES = {
    "MY_DB_PASSWORD": "db-pass-5e1d0c7a9b",
    "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz0123",
}
ALL_VALUES = [*ENV_CREDENTIALS.values(), *SECRET_VALUES.values()]

CLOUD_SETTINGS: dict[str, dict[str, Any]] = {
    "aws": {
        "role_arn": "arn:aws:iam::123456789012:role/cloudgd-sagemaker",
        "output_uri": "s3://cloudgd-test/jobs",
    },
    "gcp": {"project": "cloudgd-test-123", "staging_bucket": "gs://cloudgd-test-staging"},
    "azure": {
        "subscription_id": "11111111-2222-3333-4444-555555555555",
        "resource_group": "ml-rg",
        "workspace": "ml-ws",
        "compute": "cpu-cluster",
    },
}
SECRET_REFS: dict[str, dict[str, str]] = {
    "local": {"source": "env", "ref": "MY_DB_PASSWORD"},
    "aws": {"source": "aws-secretsmanager", "ref": "arn:aws:secretsmanager:us-east-1:1:secret:db"},
    "gcp": {"source": "gcp-secretmanager", "ref": "projects/p/secrets/db/versions/1"},
    "azure": {"source": "azure-keyvault", "ref": "https://kv.vault.azure.net/secrets/db"},
}


def job_document(provider: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "secret-job",
        "trainer": {
            "model": {"kind": "mlp", "hidden": [16]},
            "data": {"source": "digits", "limit": 200},
            "epochs": 1,
        },
        "env": {**ENV_CREDENTIALS, "GREETING": "hello-world"},
        "secrets": {"DB_PASSWORD": SECRET_REFS[provider]},
    }
    if provider == "local":
        doc["secrets"]["HF_TOKEN"] = {"source": "env", "ref": "HF_TOKEN"}
    if provider in CLOUD_SETTINGS:
        doc["providers"] = {provider: CLOUD_SETTINGS[provider]}
    return doc


def write_job(tmp_path: Path, provider: str) -> str:
    path = tmp_path / f"{provider}.yaml"
    path.write_text(yaml.safe_dump(job_document(provider)))
    return str(path)


def assert_no_secret(text: str, where: str) -> None:
    leaked = [value for value in ALL_VALUES if value in text]
    assert not leaked, f"{where} shows {leaked}"


@pytest.fixture(autouse=True)
def secret_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)


def test_credential_detection_by_name_and_by_shape() -> None:
    assert looks_like_credential("GITHUB_TOKEN", "abcd1234")
    assert looks_like_credential("DB_PASSWORD", "correct horse")
    assert looks_like_credential("OPENAI_API_KEY", "whatever-it-is")
    assert looks_like_credential("AZURE_STORAGE_CONNECTION_STRING", "DefaultEndpoints...")
    assert looks_like_credential("SOME_SETTING", "AKIAIOSFODNN7EXAMPLE")
    assert looks_like_credential("REPO", "ghp_" + "a" * 36)
    assert looks_like_credential("DATABASE_URL", "postgres://app:s3cret@db:5432/app")
    assert not looks_like_credential("GREETING", "hello-world")
    assert not looks_like_credential("KEYBOARD_LAYOUT", "en-us")
    assert not looks_like_credential("TOKENIZERS_PARALLELISM", "false")
    assert not looks_like_credential("API_TOKEN", "")  # nothing to hide


@pytest.mark.parametrize("provider", ["local", "aws", "gcp", "azure"])
def test_plan_text_json_and_out_file_hide_every_secret(
    invoke: Invoke, tmp_path: Path, provider: str
) -> None:
    job = write_job(tmp_path, provider)
    out = tmp_path / "plan.json"

    text = invoke("plan", job, "--provider", provider)
    as_json = invoke("--output", "json", "plan", job, "--provider", provider, "--out", str(out))
    dry_run = invoke("--output", "json", "submit", job, "--provider", provider, "--dry-run")
    dry_text = invoke("submit", job, "--provider", provider, "--dry-run")

    for name, result in {"plan": text, "plan -o json": as_json, "submit --dry-run": dry_run,
                         "submit --dry-run (text)": dry_text}.items():  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert_no_secret(result.stdout + result.stderr, name)
    assert_no_secret(out.read_text(), "plan --out")
    request = json.dumps(json.loads(as_json.stdout)["request"])
    assert REDACTED in request  # the variables are still there, their values hidden
    assert "hello-world" in request  # ordinary values are untouched


def test_the_submitted_plan_keeps_the_values_only_the_shown_one_hides_them(tmp_path: Path) -> None:
    spec = JobSpec.model_validate(job_document("local"))
    ctx = RenderContext(now=__import__("datetime").datetime(2026, 1, 1), runs_dir=str(tmp_path))
    plan = LocalProvider(runs_dir=str(tmp_path)).plan(spec, ctx)

    shown = redact_plan(plan, spec.env)

    assert ENV_CREDENTIALS["WANDB_API_KEY"] in plan.to_json()
    assert_no_secret(shown.to_json(), "the shown plan")
    assert shown.request["ranks"][0]["env"]["WANDB_API_KEY"] == REDACTED


CHECK_ENV = """
import hashlib, json, os, sys
names = {names!r}
print(json.dumps({{n: hashlib.sha256(os.environ.get(n, "").encode()).hexdigest() for n in names}}))
print("hidden copies:", sorted(k for k in os.environ if k.startswith("CLOUDGD_HIDDEN_")))
"""


@pytest.mark.slow
def test_a_local_job_gets_its_credentials_though_no_run_file_holds_them(
    tmp_path: Path, home: Path
) -> None:
    spec = JobSpec.model_validate(job_document("local"))
    provider = LocalProvider(runs_dir=str(home / "runs"))
    plan = provider.plan(spec, RenderContext(now=__import__("datetime").datetime(2026, 1, 1)))
    script = tmp_path / "check_env.py"
    names = [*ENV_CREDENTIALS, "DB_PASSWORD", "HF_TOKEN"]
    script.write_text(CHECK_ENV.format(names=names))
    request = {**plan.request}
    request["ranks"] = [{**r, "argv": [sys.executable, str(script)]} for r in request["ranks"]]
    plan = plan.model_copy(update={"request": request})

    status = provider.submit(plan)
    final = provider.wait(JobHandle.parse(status.handle), timeout=60, poll=0.1)

    assert final.state.value == "SUCCEEDED", final.message
    log = "\n".join(provider.logs(JobHandle.parse(status.handle)))
    expected = {**ENV_CREDENTIALS, "DB_PASSWORD": SECRET_VALUES["MY_DB_PASSWORD"],
                "HF_TOKEN": SECRET_VALUES["HF_TOKEN"]}  # fmt: skip
    digests = json.loads(next(line[line.index("{") :] for line in log.splitlines() if "{" in line))
    assert digests == {n: hashlib.sha256(v.encode()).hexdigest() for n, v in expected.items()}
    assert "hidden copies: []" in log
    run_dir = Path(plan.request["run_dir"])
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert_no_secret(path.read_text(errors="replace"), str(path.relative_to(run_dir)))


@pytest.mark.slow
def test_every_cli_output_of_a_real_local_run_hides_every_secret(
    tmp_path: Path, home: Path
) -> None:
    job = write_job(tmp_path, "local")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CLOUDGD_HOME": str(home)}

    def cloudgd(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cloudgd", *args],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert_no_secret(done.stdout + done.stderr, f"cloudgd {' '.join(args)}")
        return done.stdout

    submitted = json.loads(cloudgd("-o", "json", "submit", job, "-p", "local", "--wait"))
    handle = submitted["handle"]
    assert submitted["state"] == "SUCCEEDED"
    cloudgd("status", handle)
    cloudgd("-o", "json", "status", handle)
    cloudgd("logs", handle)
    cloudgd("list", "--provider", "local")
    cloudgd("submit", job, "-p", "local", "--follow")  # attaches to the finished run
    run_dir = Path(JobHandle.parse(handle).parts[0])
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert any(p.name == "summary.json" for p in files)
    assert any(p.name == "state.json" for p in files)
    for path in files:
        assert_no_secret(path.read_bytes().decode(errors="replace"), str(path))

"""The credentials the hardening campaign saw printed: hidden by name and by shape.

Each value below was shown in clear by ``plan`` (text, JSON, ``--out``), ``submit
--dry-run`` or a run's ``plan.json``. The names are caught by the name rule
(``PGPASSWORD``, ``AZURE_STORAGE_KEY``); the neutral names by the value's shape.
Files that hold a plan are readable by their owner only.
"""

from __future__ import annotations

import json
import stat
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudgd.plan import JobHandle, RenderContext
from cloudgd.redact import looks_like_credential, scrub_shapes
from cloudgd.spec import JobSpec
from providers.local.provider import LocalProvider
from tests.badinput.conftest import Invoke
from tests.badinput.test_secrets import CLOUD_SETTINGS, REPO

LEAKED = {
    "PGPASSWORD": "pg-Pa55w0rd-9d1e",
    "AZURE_STORAGE_KEY": "c3RvcmFnZS1rZXktZm9yLXRlc3RzLW9ubHk=",
    "PAYMENTS": "sk_live_51Hx9aQ2eZvKYlo2C0123456789",
    "NOTIFY_URL": "https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX",
    "DB_DSN": "host=db.internal user=app password=dsn-pw-77a1",
    "UPSTREAM_HEADER": "Bearer abc.def-ghi_jkl.mno",
    "ALERTS_WEBHOOK": "https://alerts.example.com/in/0f9e8d7c",
}
SECRET_PARTS = [
    "pg-Pa55w0rd-9d1e",
    "c3RvcmFnZS1rZXktZm9yLXRlc3RzLW9ubHk=",
    "sk_live_51Hx9aQ2eZvKYlo2C0123456789",
    "XXXXXXXXXXXXXXXXXXXXXXXX",
    "dsn-pw-77a1",
    "abc.def-ghi_jkl.mno",
    "0f9e8d7c",
]


def document(provider: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "leaky-job",
        "trainer": {"data": {"source": "digits", "limit": 100}, "epochs": 1},
        "env": {**LEAKED, "TOKENIZERS_PARALLELISM": "false", "GREETING": "hello-world"},
    }
    if provider in CLOUD_SETTINGS:
        doc["providers"] = {provider: CLOUD_SETTINGS[provider]}
    return doc


def leaks(text: str) -> list[str]:
    return [part for part in SECRET_PARTS if part in text]


def test_each_campaign_value_is_a_credential() -> None:
    for name, value in LEAKED.items():
        assert looks_like_credential(name, value), name
    assert not looks_like_credential("TOKENIZERS_PARALLELISM", "false")
    assert not looks_like_credential("KEYBOARD_LAYOUT", "en-us")
    assert not looks_like_credential("SECRET_SAUCE_ENABLED", "true")  # a setting, not a secret


def test_shapes_are_cut_out_of_any_text() -> None:
    text = "curl -H 'Authorization: Bearer abc.def-ghi_jkl.mno' https://u:pw-1234@h.example/x"
    shown = scrub_shapes({"argv": [text], "uri": "postgres://app:s3cret-9@db:5432/app"})
    assert "abc.def-ghi_jkl.mno" not in json.dumps(shown)
    assert "pw-1234" not in json.dumps(shown) and "s3cret-9" not in json.dumps(shown)
    assert shown["uri"] == "postgres://<redacted>@db:5432/app"


@pytest.mark.parametrize("provider", ["local", "aws", "gcp", "azure"])
def test_plan_out_and_dry_run_hide_the_campaign_values(
    invoke: Invoke, tmp_path: Path, provider: str
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(document(provider)))
    out = tmp_path / "plan.json"
    plan, dry = (
        ("plan", str(job), "-p", provider),
        ("submit", str(job), "-p", provider, "--dry-run"),
    )
    outputs = {
        "plan": invoke(*plan),
        "plan -o json --out": invoke("-o", "json", *plan, "--out", str(out)),
        "submit --dry-run": invoke(*dry),
        "submit --dry-run -o json": invoke("-o", "json", *dry),
    }
    for name, result in outputs.items():
        assert result.exit_code == 0, (name, result.output)
        assert not leaks(result.output), (name, leaks(result.output))
    assert not leaks(out.read_text())
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "hello-world" in out.read_text() and '"false"' in out.read_text()


def test_plan_out_into_a_missing_directory_is_one_line_exit_2(
    invoke: Invoke, tmp_path: Path
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(document("local")))
    result = invoke("plan", str(job), "-p", "local", "--out", str(tmp_path / "nope" / "p.json"))
    assert result.exit_code == 2, result.output
    assert "--out " in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_local_runs_plan_json_is_private_and_holds_no_campaign_value(
    tmp_path: Path, home: Path
) -> None:
    spec = JobSpec.model_validate(document("local"))
    provider = LocalProvider(runs_dir=str(home / "runs"))
    plan = provider.plan(spec, RenderContext(now=datetime(2026, 1, 1)))
    script = tmp_path / "check.py"
    script.write_text("import os\nprint(os.environ['PGPASSWORD'] == 'pg-Pa55w0rd-9d1e')\n")
    request = {**plan.request}
    request["ranks"] = [{**r, "argv": [sys.executable, str(script)]} for r in request["ranks"]]
    status = provider.submit(plan.model_copy(update={"request": request}))
    final = provider.wait(JobHandle.parse(status.handle), timeout=60, poll=0.1)
    assert final.state.value == "SUCCEEDED", final.message
    assert "True" in "\n".join(provider.logs(JobHandle.parse(status.handle)))  # the job got it
    run_dir = Path(plan.request["run_dir"])
    assert stat.S_IMODE((run_dir / "plan.json").stat().st_mode) == 0o600
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert not leaks(path.read_text(errors="replace")), path


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_tune_dry_run_hides_the_campaign_values(
    invoke: Invoke, tmp_path: Path, provider: str
) -> None:
    doc = yaml.safe_load((REPO / "examples" / "digits-tune.yaml").read_text())
    doc["env"] = dict(LEAKED)
    doc["providers"] = {**(doc.get("providers") or {}), provider: CLOUD_SETTINGS[provider]}
    job = tmp_path / "tune.yaml"
    job.write_text(yaml.safe_dump(doc))
    for args in ((), ("-o", "json")):
        result = invoke(*args, "tune", str(job), "-p", provider, "--dry-run")
        assert result.exit_code == 0, result.output
        assert not leaks(result.output), leaks(result.output)

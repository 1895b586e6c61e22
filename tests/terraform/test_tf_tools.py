"""terraform fmt, checkov and (for AWS, whose provider is available offline) terraform
validate and terraform test with a mocked provider.

Each test skips, saying why, only when its tool is missing. None reaches the
network: checkov runs with --skip-download and Terraform installs providers from
a local plugin directory only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from tfhcl import (
    AWS_PLUGIN,
    AWS_PLUGIN_MISSING,
    EXAMPLES,
    FIXTURES,
    MODULES,
    PLUGIN_DIR,
    REPO,
    TERRAFORM,
    TERRAFORM_BIN,
    terraform_env,
)

# `make test` installs checkov in a venv of its own and names it in CLOUDGD_CHECKOV.
CHECKOV_BIN = (
    os.environ.get("CLOUDGD_CHECKOV")
    or shutil.which("checkov")
    or str(Path(sys.executable).with_name("checkov"))
)

needs_terraform = pytest.mark.skipif(TERRAFORM_BIN is None, reason="terraform binary not installed")
needs_checkov = pytest.mark.skipif(
    not Path(CHECKOV_BIN).is_file(),
    reason="checkov not installed (make test installs it in .venv/checkov)",
)
needs_aws_plugin = pytest.mark.skipif(
    TERRAFORM_BIN is None or not AWS_PLUGIN.is_dir(), reason=AWS_PLUGIN_MISSING
)


@needs_terraform
def test_terraform_files_are_formatted(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(TERRAFORM_BIN), "fmt", "-check", "-recursive", "-diff", "-no-color", "terraform/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=terraform_env(tmp_path),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{result.stdout}"


def run_checkov(directory: Path) -> dict[str, object]:
    result = subprocess.run(
        [
            CHECKOV_BIN,
            "--directory",
            str(directory),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    # One framework gives one object; checkov prints a list when it ran several.
    return report[0] if isinstance(report, list) else report


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


@pytest.mark.slow
@needs_checkov
def test_installed_checkov_is_at_least_the_scan_extras_lower_bound() -> None:
    """Older releases lack checks the modules are verified against (and skip differently)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (wanted,) = [r for r in project["optional-dependencies"]["scan"] if r.startswith("checkov")]
    bound = wanted.removeprefix("checkov>=")
    assert bound != wanted, f"the scan extra should give checkov a lower bound only: {wanted}"
    installed = subprocess.run(
        [CHECKOV_BIN, "--version"], capture_output=True, text=True, timeout=120, check=True
    ).stdout.strip()
    assert release(installed) >= release(bound), (
        f"checkov {installed} is older than the scan extra's {wanted}: "
        "rm .venv/.checkov-installed; make test"
    )


@pytest.mark.slow
@needs_checkov
@pytest.mark.parametrize(
    "directory",
    [TERRAFORM, FIXTURES / "all_features"],
    ids=["examples-and-modules", "all-optional-parts-on"],
)
def test_checkov_finds_no_failed_check(directory: Path) -> None:
    """checkov drops resources whose count is 0, hence the all_features roots."""
    report = run_checkov(directory)
    results = report["results"]
    assert isinstance(results, dict)
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in results["failed_checks"]
    ]
    assert failed == []
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100
    unexplained = [
        f"{check['check_id']} {check['resource']}"
        for check in results["skipped_checks"]
        if len(check["check_result"].get("suppress_comment", "").strip()) < 30
    ]
    assert unexplained == []


def validate(root: Path, tmp_path: Path) -> None:
    """`terraform init` from the local plugin directory, then `terraform validate`."""
    copy = tmp_path / "repo"
    shutil.copytree(TERRAFORM, copy / "terraform")
    shutil.copytree(FIXTURES / "all_features", copy / "tests/terraform/fixtures/all_features")
    workdir = copy / root.relative_to(REPO)
    env = terraform_env(tmp_path / "tfdata")
    subprocess.run(
        [
            str(TERRAFORM_BIN),
            "init",
            "-backend=false",
            f"-plugin-dir={PLUGIN_DIR}",
            "-no-color",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = subprocess.run(
        [str(TERRAFORM_BIN), "validate", "-json", "-no-color"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    assert report["valid"] is True, report["diagnostics"]
    assert report["warning_count"] == 0, report["diagnostics"]


@pytest.mark.slow
@needs_aws_plugin
@pytest.mark.parametrize(
    "root", [EXAMPLES / "aws", FIXTURES / "all_features" / "aws"], ids=["example", "all-features"]
)
def test_aws_roots_validate_against_the_real_provider_schema(root: Path, tmp_path: Path) -> None:
    validate(root, tmp_path)


def terraform_supports_mock_providers() -> bool:
    """`terraform test` gained mock_provider in 1.7."""
    if TERRAFORM_BIN is None:
        return False
    result = subprocess.run(
        [str(TERRAFORM_BIN), "version", "-json"],
        capture_output=True,
        text=True,
        env=terraform_env(),
        timeout=60,
        check=False,
    )
    major, minor = (
        int(part) for part in json.loads(result.stdout)["terraform_version"].split(".")[:2]
    )
    return (major, minor) >= (1, 7)


@pytest.mark.slow
@needs_aws_plugin
def test_aws_ci_role_refuses_subjects_of_other_repositories_at_plan(tmp_path: Path) -> None:
    """The precondition behind the CKV_AWS_358 skip, planned with a mocked AWS provider."""
    if not terraform_supports_mock_providers():
        pytest.skip("terraform test with mock_provider needs Terraform >= 1.7")
    module = tmp_path / "aws-sagemaker"
    shutil.copytree(MODULES / "aws-sagemaker", module)
    (module / "tests").mkdir()
    shutil.copy(FIXTURES / "tftest" / "aws_github_subjects.tftest.hcl", module / "tests")
    env = terraform_env(tmp_path / "tfdata")
    for command in (
        ["init", "-backend=false", f"-plugin-dir={PLUGIN_DIR}", "-no-color"],
        ["test", "-no-color"],
    ):
        result = subprocess.run(
            [str(TERRAFORM_BIN), *command],
            cwd=module,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed, 0 failed" in result.stdout

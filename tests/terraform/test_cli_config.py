"""`cloudgd config from-terraform`, driven through click with a stand-in terraform binary."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from tfhcl import FIXTURES

from cloudgd import tfconfig
from cloudgd.cli.config import command
from cloudgd.errors import UsageError

OUTPUTS = FIXTURES / "outputs"


def run(*args: str) -> Result:
    return CliRunner().invoke(command, ["from-terraform", *args], catch_exceptions=True)


def fake_terraform(tmp_path: Path, *, stdout_file: Path | None, exit_code: int = 0) -> Path:
    """An executable standing in for terraform: checks its arguments, prints a recording."""
    script = tmp_path / "fake-terraform"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "args = sys.argv[1:]\n"
        "assert args[0].startswith('-chdir='), args\n"
        "assert args[1:3] == ['output', '-json'], args\n"
        f"if {exit_code}:\n"
        "    sys.stderr.write('\\u2577\\n\\u2502 Error: No outputs found in the state\\n')\n"
        f"    sys.exit({exit_code})\n"
        f"sys.stdout.write(open({str(stdout_file)!r}).read())\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_saved_outputs_file_prints_the_spec_block() -> None:
    result = run(str(OUTPUTS / "aws.json"))
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.stdout)
    assert list(document["providers"]["aws"]) == [
        "role_arn",
        "output_uri",
        "checkpoint_uri",
        "kms_key_id",
    ]
    assert "left out: bucket_name, github_actions_role_arn, region" in result.stderr


def test_directory_runs_terraform_output_there(tmp_path: Path) -> None:
    terraform = fake_terraform(tmp_path, stdout_file=OUTPUTS / "gcp.json")
    module_dir = tmp_path / "examples-gcp"
    module_dir.mkdir()
    result = run(str(module_dir), "--terraform", str(terraform))
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["providers"]["gcp"]["location"] == "us-central1"


def test_user_format_merges_into_cloudgd_home_config(cloudgd_home: Path) -> None:
    assert run(str(OUTPUTS / "aws.json"), "--format", "user").exit_code == 0
    result = run(str(OUTPUTS / "azure.json"), "--format", "user")
    assert result.exit_code == 0, result.output
    assert f"updated providers.azure in {cloudgd_home / 'config.yaml'}" in result.stderr
    settings = tfconfig.load_user_settings()
    assert set(settings) == {"aws", "azure"}
    assert settings["azure"]["compute"] == "gpu-cluster"
    assert result.stdout == ""  # nothing for a pipe to mistake for the config


def test_user_format_to_an_explicit_file(tmp_path: Path) -> None:
    target = tmp_path / "team" / "cloudgd.yaml"
    result = run(str(OUTPUTS / "gcp.json"), "--format", "user", "--output-file", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("# cloudgd user config")
    assert tfconfig.load_user_settings(target)["gcp"]["project"] == "cloudgd-example-project"


def test_user_format_never_replaces_a_special_file(tmp_path: Path) -> None:
    # A FIFO (or a device such as /dev/full) is written into, never renamed over.
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    result = run(str(OUTPUTS / "gcp.json"), "--format", "user", "--output-file", str(fifo))
    assert isinstance(result.exception, UsageError)
    assert result.exception.message == (
        f"--output-file {fifo}: cannot write: No such device or address"
    )
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_spec_output_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    target = tmp_path / "providers.yaml"
    assert run(str(OUTPUTS / "aws.json"), "--output-file", str(target)).exit_code == 0
    first = target.read_text(encoding="utf-8")
    refused = run(str(OUTPUTS / "gcp.json"), "--output-file", str(target))
    assert isinstance(refused.exception, UsageError)
    assert "exists" in refused.exception.message
    assert target.read_text(encoding="utf-8") == first
    forced = run(str(OUTPUTS / "gcp.json"), "--output-file", str(target), "--force")
    assert forced.exit_code == 0
    assert "gcp:" in target.read_text(encoding="utf-8")


def test_missing_terraform_binary_is_a_usage_error_with_a_hint(tmp_path: Path) -> None:
    result = run(str(tmp_path), "--terraform", str(tmp_path / "no-such-terraform"))
    error = result.exception
    assert isinstance(error, UsageError)
    assert error.message.endswith(f"not found, cannot read the outputs of {tmp_path}")
    assert "terraform output -json > outputs.json" in (error.hint or "")


def test_failing_terraform_reports_its_error_line(tmp_path: Path) -> None:
    terraform = fake_terraform(tmp_path, stdout_file=None, exit_code=1)
    result = run(str(tmp_path), "--terraform", str(terraform))
    error = result.exception
    assert isinstance(error, UsageError)
    assert error.message == (
        f"{tmp_path}: `terraform output -json` failed: Error: No outputs found in the state"
    )
    assert "terraform apply" in (error.hint or "")


@pytest.mark.parametrize("provider", ["gcp", "azure"])
def test_provider_flag_contradicting_the_outputs_is_refused(provider: str) -> None:
    result = run(str(OUTPUTS / "aws.json"), "--provider", provider)
    assert isinstance(result.exception, UsageError)
    assert "contradicts" in result.exception.message


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    binary = tmp_path / "outputs.json"
    binary.write_bytes(b"\xff\xfe\x00")
    result = run(str(binary))
    assert isinstance(result.exception, UsageError)
    assert result.exception.message.startswith(f"{binary}: cannot read")

"""From an empty (moto) AWS account to provider settings: `terraform apply`, then one command.

terraform/examples/aws is applied for real, with the hashicorp/aws provider from
the local plugin directory, against a moto server on 127.0.0.1. The test then
checks what was created through boto3, that a second plan finds nothing to
change, and that `cloudgd config from-terraform` turns the state's outputs into
the user config that fills a job spec.

To re-record tests/terraform/fixtures/outputs/aws.json, run the same apply with
`-var github_repository=example-org/example-repo` and `terraform output -json`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tfhcl import (
    AWS_PLUGIN,
    AWS_PLUGIN_MISSING,
    PLUGIN_DIR,
    TERRAFORM,
    TERRAFORM_BIN,
    terraform_env,
)

from cloudgd import tfconfig
from cloudgd.cli.config import command
from cloudgd.spec import JobSpec

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(TERRAFORM_BIN is None or not AWS_PLUGIN.is_dir(), reason=AWS_PLUGIN_MISSING),
]
boto3 = pytest.importorskip("boto3", reason="boto3 (cloudgd[aws]) not installed")
pytest.importorskip("moto.server", reason="moto[server] not installed")

ACCOUNT = "123456789012"  # moto's account
BUCKET = f"cloudgd-{ACCOUNT}-us-east-1"
SERVICES = ("s3", "iam", "sts", "kms", "ecr", "logs", "ec2")


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server in its own process, so its state never mixes with in-process mocks."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except (urllib.error.URLError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto server did not start on {url}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def moto_provider_override(url: str) -> str:
    endpoints = "\n".join(f'    {service} = "{url}"' for service in SERVICES)
    return (
        'provider "aws" {\n'
        '  region                      = "us-east-1"\n'
        '  access_key                  = "testing"\n'
        '  secret_key                  = "testing"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  s3_use_path_style           = true\n\n"
        f"  endpoints {{\n{endpoints}\n  }}\n"
        "}\n"
    )


@dataclass(frozen=True)
class Applied:
    """The applied copy of examples/aws and what a second plan said."""

    example: Path
    second_plan_exit_code: int


@pytest.fixture(scope="module")
def applied(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Applied:
    """A copy of terraform/ whose examples/aws has been applied against moto."""
    copy = tmp_path_factory.mktemp("tf") / "terraform"
    shutil.copytree(TERRAFORM, copy)
    example = copy / "examples" / "aws"
    # An override file only changes where the provider sends its requests.
    (example / "moto_override.tf").write_text(moto_provider_override(moto_url))
    variables = ["-var=github_repository=example-org/example-repo"]

    def terraform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TERRAFORM_BIN), *args, "-no-color"],
            cwd=example,
            env=terraform_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    init = terraform("init", f"-plugin-dir={PLUGIN_DIR}")
    assert init.returncode == 0, init.stderr
    apply = terraform("apply", "-auto-approve", *variables)
    assert apply.returncode == 0, apply.stdout[-3000:] + apply.stderr
    plan = terraform("plan", "-detailed-exitcode", *variables)
    return Applied(example, plan.returncode)


def aws_client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_a_second_plan_finds_nothing_to_change(applied: Applied) -> None:
    assert applied.second_plan_exit_code == 0  # 2 would mean pending changes


def test_created_bucket_is_encrypted_versioned_private_and_expires_checkpoints(
    applied: Applied, moto_url: str
) -> None:
    s3 = aws_client("s3", moto_url)
    encryption = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    default = encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    public_access = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(public_access.values()) and len(public_access) == 4
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    expiring = [r for r in rules if r.get("Filter", {}).get("Prefix") == "checkpoints/"]
    assert expiring[0]["Expiration"]["Days"] == 30


def test_created_role_policies_carry_no_wildcard_action(applied: Applied, moto_url: str) -> None:
    iam = aws_client("iam", moto_url)
    for role, policy in (
        ("cloudgd-sagemaker-execution", "cloudgd-training"),
        ("cloudgd-github-actions", "cloudgd-submit-and-read-jobs"),
    ):
        document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        for statement in document["Statement"]:
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            assert not [a for a in actions if "*" in a], (role, statement)


def test_config_from_terraform_reads_the_applied_state(applied: Applied) -> None:
    result = CliRunner().invoke(
        command, ["from-terraform", str(applied.example), "--format", "user"]
    )
    assert result.exit_code == 0, result.output
    settings = tfconfig.load_user_settings()
    aws = settings["aws"]
    assert aws["role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/cloudgd-sagemaker-execution"
    assert aws["output_uri"] == f"s3://{BUCKET}/outputs"
    assert aws["checkpoint_uri"] == f"s3://{BUCKET}/checkpoints"
    assert aws["kms_key_id"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
    assert "left out: bucket_name, github_actions_role_arn, region" in result.stderr
    spec = tfconfig.apply_user_settings(JobSpec.model_validate({"name": "digits"}), settings)
    assert spec.providers.aws.role_arn == aws["role_arn"]
    assert os.environ["CLOUDGD_HOME"] in str(tfconfig.user_config_path())

"""``providers.aws`` block of a job spec (SDK-free)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.config import ConfigModel


class AwsOptions(ConfigModel):
    """Settings for SageMaker; usually filled from the aws-sagemaker Terraform module."""

    role_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
        description="SageMaker execution role ARN (Terraform output role_arn).",
    )
    output_uri: str | None = Field(
        default=None,
        pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$",
        description="s3:// prefix for model artifacts, code bundles and checkpoints.",
    )
    checkpoint_uri: str | None = Field(
        default=None,
        pattern=r"^s3://.+",
        description="s3:// prefix for checkpoints (default: <output_uri>/<job>/checkpoints).",
    )
    framework_version: str = Field(
        default="2.5", description="AWS PyTorch training image version for the prebuilt image."
    )
    py_version: str | None = Field(
        default=None,
        description="Python tag of the prebuilt image (default: the one the version ships).",
    )
    volume_size_gb: int = Field(default=30, ge=1, le=16384, description="EBS volume per node.")
    subnets: list[str] = Field(default_factory=list, description="VPC subnet IDs (optional).")
    security_group_ids: list[str] = Field(
        default_factory=list, description="VPC security group IDs (optional)."
    )
    kms_key_id: str | None = Field(default=None, description="KMS key for output and volumes.")
    enable_network_isolation: bool = Field(
        default=False, description="Block all network access from the training container."
    )
    profile: str | None = Field(default=None, description="AWS named profile to use.")
    input_mode: Literal["File", "FastFile"] = Field(
        default="File",
        description="How SageMaker feeds channels: File copies before start, FastFile streams.",
    )
    container_log_level: int = Field(
        default=20, ge=0, le=50, description="Python log level of the SageMaker training toolkit."
    )
    max_attempts: int = Field(
        default=8,
        ge=1,
        le=20,
        description="Attempts per API call (botocore standard retry mode; throttling and 5xx).",
    )


DESCRIPTION = "AWS SageMaker settings."
"""The ``providers.aws`` block's line in `cloudgd schema`."""

TERRAFORM_OUTPUTS: tuple[str, ...] = (
    "role_arn",
    "output_uri",
    "checkpoint_uri",
    "kms_key_id",
    "subnets",
    "security_group_ids",
)
"""AwsOptions fields that terraform/modules/aws-sagemaker outputs under the same names.
Terraform omits null outputs, so when outputs come from that module (they carry
``cloudgd_provider``) a missing one means "not set" and is cleared from the user config."""

"""``providers.gcp`` block of a job spec (SDK-free)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.config import ConfigModel


class GcpOptions(ConfigModel):
    """Settings for Vertex AI; usually filled from the gcp-vertex Terraform module."""

    project: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9\-]{4,28}[a-z0-9]$",
        description="Google Cloud project ID.",
    )
    location: str | None = Field(
        default=None, description="Vertex AI region (default: resources.region)."
    )
    staging_bucket: str | None = Field(
        default=None,
        pattern=r"^gs://[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9](/.*)?$",
        description="gs:// bucket for code packages and job outputs.",
    )
    service_account: str | None = Field(
        default=None, description="Service account e-mail the job runs as."
    )
    network: str | None = Field(
        default=None, description="VPC network to peer: projects/<num>/global/networks/<name>."
    )
    tensorboard: str | None = Field(
        default=None, description="Vertex TensorBoard resource name to stream to (optional)."
    )
    boot_disk_gb: int = Field(
        default=100,
        ge=10,
        le=65536,
        description="Boot disk per node in GB (resources.disk_gb wins when set).",
    )
    boot_disk_type: Literal["pd-ssd", "pd-standard", "hyperdisk-balanced"] | None = Field(
        default=None,
        description="Boot disk type per node (default: Vertex's, pd-ssd or hyperdisk-balanced "
        "by machine type).",
    )
    kms_key_name: str | None = Field(
        default=None,
        pattern=r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$",
        description="Cloud KMS key that encrypts the job's resources (CMEK).",
    )
    executor_image: str | None = Field(
        default=None,
        description="Prebuilt PyTorch training image for the python package (default: Vertex's "
        "PyTorch CPU or GPU training image in the location's registry).",
    )


DESCRIPTION = "Google Vertex AI settings."
"""The ``providers.gcp`` block's line in `cloudgd schema`."""

TERRAFORM_OUTPUTS: tuple[str, ...] = (
    "project",
    "location",
    "staging_bucket",
    "service_account",
    "network",
)
"""GcpOptions fields that terraform/modules/gcp-vertex outputs under the same names.
Terraform omits null outputs, so when outputs come from that module (they carry
``cloudgd_provider``) a missing one means "not set" and is cleared from the user config."""

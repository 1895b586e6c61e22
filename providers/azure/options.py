"""``providers.azure`` block of a job spec (SDK-free)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.config import ConfigModel


class AzureOptions(ConfigModel):
    """Settings for Azure ML; usually filled from the azure-ml Terraform module."""

    subscription_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="Azure subscription ID.",
    )
    resource_group: str | None = Field(
        default=None,
        pattern=r"^[-a-zA-Z0-9._()]{1,90}$",
        description="Resource group of the workspace.",
    )
    workspace: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$",
        description="Azure ML workspace name.",
    )
    compute: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z][a-zA-Z0-9\-]{1,31}$",
        description="AmlCompute cluster name (default: derived from the VM size, with -lp for "
        "low priority).",
    )
    manage_compute: bool = Field(
        default=False,
        description="Create or update the compute cluster on submit (else it must exist and fit).",
    )
    environment: str | None = Field(
        default=None,
        description="Azure ML environment 'azureml:name:version', 'azureml:name@latest' or an "
        "azureml://registries/... ID (default: the curated ACPT PyTorch environment, or the "
        "spec's image).",
    )
    experiment_name: str = Field(
        default="cloudgd",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$",
        description="Experiment the job belongs to.",
    )
    datastore: str = Field(
        default="workspaceblobstore",
        pattern=r"^[a-z0-9_]{1,255}$",
        description="Datastore for checkpoints (outputs use the job's default location).",
    )
    data_mode: Literal["ro_mount", "download"] = Field(
        default="ro_mount",
        description="How the trainer.data.uri input reaches the job: mounted read-only, or "
        "downloaded before the command starts.",
    )
    shm_size: str | None = Field(
        default=None,
        pattern=r"^\d+[bkmg]$",
        description="Docker shared memory per node, e.g. 16g (Azure's default is 2g; PyTorch "
        "data loaders with many workers want more).",
    )
    max_retries: int = Field(
        default=5,
        ge=0,
        le=20,
        description="Retries of a failed call to Azure (azure-core's exponential back-off).",
    )


DESCRIPTION = "Azure ML settings."
"""The ``providers.azure`` block's line in `cloudgd schema`."""

TERRAFORM_OUTPUTS: tuple[str, ...] = ("subscription_id", "resource_group", "workspace", "compute")
"""AzureOptions fields that terraform/modules/azure-ml outputs under the same names.
Terraform omits null outputs, so when outputs come from that module (they carry
``cloudgd_provider``) a missing one means "not set" and is cleared from the user config."""

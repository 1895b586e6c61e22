"""``providers.azure`` block of a job spec (SDK-free)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AzureOptions(BaseModel):
    """Settings for Azure ML; usually filled from the azure-ml Terraform module."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscription_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="Azure subscription ID.",
    )
    resource_group: str | None = Field(default=None, description="Resource group of the workspace.")
    workspace: str | None = Field(default=None, description="Azure ML workspace name.")
    compute: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z][a-zA-Z0-9\-]{1,31}$",
        description="AmlCompute cluster name (default: derived from the VM size).",
    )
    manage_compute: bool = Field(
        default=False,
        description="Create or update the compute cluster on submit (else it must exist and fit).",
    )
    environment: str | None = Field(
        default=None,
        description="Azure ML environment 'azureml:name:version' (default: a curated PyTorch "
        "environment, or the spec's image).",
    )
    experiment_name: str = Field(default="cloudgd", description="Experiment the job belongs to.")
    datastore: str = Field(
        default="workspaceblobstore", description="Datastore for outputs and checkpoints."
    )

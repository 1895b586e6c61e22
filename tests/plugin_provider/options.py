"""``providers.toy`` block of a job spec: the plug-in's own settings (SDK-free)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.config import ConfigModel


class ToyOptions(ConfigModel):
    """Settings for the toy queue."""

    queue: Literal["fast", "slow"] = Field(default="fast", description="Which queue runs the job.")
    priority: int = Field(default=5, ge=0, le=9, description="0 runs first, 9 last.")
    owner: str | None = Field(default=None, description="Who the queue bills (optional).")


DESCRIPTION = "Toy queue settings (the test plug-in)."
"""The block's line in `cloudgd schema`."""

TERRAFORM_OUTPUTS: tuple[str, ...] = ("owner",)
"""Options fields the toy's Terraform module outputs (``cloudgd config from-terraform``)."""

"""``providers.local`` block of a job spec (SDK-free)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.config import ConfigModel


class LocalOptions(ConfigModel):
    """Settings for running on this machine."""

    emulate: Literal["none", "aws", "gcp", "azure"] = Field(
        default="none",
        description="Lay out this cloud's container contract (paths, env) for the trainer.",
    )
    runs_dir: str | None = Field(
        default=None, description="Where runs live (default ~/.cloudgd/runs or $CLOUDGD_RUNS_DIR)."
    )
    grace_period: int = Field(
        default=10, ge=0, le=600, description="Seconds between SIGTERM and SIGKILL on cancel."
    )
    python: str | None = Field(
        default=None,
        description="Python interpreter for the job (default: the one running cloudgd).",
    )


DESCRIPTION = "Local runner settings."
"""The ``providers.local`` block's line in `cloudgd schema`."""

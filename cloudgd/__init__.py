"""cloudgd: one provider-agnostic job spec for gradient-descent training on any cloud.

Importing this package imports no cloud SDK and no torch; providers load lazily, and so
does the Python API below (its names resolve on first use):

    import cloudgd

    run = cloudgd.Job.from_yaml("job.yaml").submit("aws", wait=True)
    run.metrics()

See docs/python-api.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The one place the version is written: pyproject.toml reads it from here.
__version__ = "0.1.0"

# Public name → the module that defines it, imported on first access.
_LAZY = {
    "Job": "cloudgd.api",
    "Run": "cloudgd.api_runs",
    "Study": "cloudgd.api_runs",
    "tune": "cloudgd.api",
    "CloudgdError": "cloudgd.errors",
    "SpecError": "cloudgd.errors",
    "UsageError": "cloudgd.errors",
    "BudgetError": "cloudgd.errors",
    "ProviderError": "cloudgd.errors",
    "JobFailedError": "cloudgd.errors",
    "WaitTimeoutError": "cloudgd.errors",
    "JobSpec": "cloudgd.spec",
    "Plan": "cloudgd.plan",
    "JobState": "cloudgd.plan",
    "JobStatus": "cloudgd.plan",
}

__all__ = [
    "BudgetError",
    "CloudgdError",
    "Job",
    "JobFailedError",
    "JobSpec",
    "JobState",
    "JobStatus",
    "Plan",
    "ProviderError",
    "Run",
    "SpecError",
    "Study",
    "UsageError",
    "WaitTimeoutError",
    "__version__",
    "tune",
]

if TYPE_CHECKING:
    from cloudgd.api import Job, tune
    from cloudgd.api_runs import Run, Study
    from cloudgd.errors import (
        BudgetError,
        CloudgdError,
        JobFailedError,
        ProviderError,
        SpecError,
        UsageError,
        WaitTimeoutError,
    )
    from cloudgd.plan import JobState, JobStatus, Plan
    from cloudgd.spec import JobSpec


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cloudgd' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

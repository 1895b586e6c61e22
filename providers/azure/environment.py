"""The environment an Azure ML job runs in, as the job request's ``environment`` names it.

A custom ``image`` runs as is; ``providers.azure.environment`` names a registered Azure ML
environment; otherwise an inline environment: Microsoft's curated PyTorch image plus a
conda specification of what the job needs (the trainer's packages, or a script job's own
requirements, see ``script_render.py``). Pure; no SDK.
"""

from __future__ import annotations

from typing import Any

from cloudgd.errors import SpecError
from cloudgd.plan import BundleRef
from cloudgd.spec import JobSpec
from cloudgd.trainer_requirements import PYTHON as PYTHON_VERSION
from cloudgd.trainer_requirements import environment_requirements
from providers.azure import script_render
from providers.azure.options import AzureOptions

# The image of the curated Azure Container for PyTorch environment (CUDA 12.6; it also
# runs on CPU VMs). Source: Azure/azureml-assets
# assets/training/general/environments/acpt-pytorch-2.8-cuda12.6. Its published
# requirements hold no pydantic, pyyaml or scikit-learn, so the job's environment is
# this image plus a conda specification from the trainer's requirements.
CURATED_IMAGE = "mcr.microsoft.com/azureml/curated/acpt-pytorch-2.8-cuda12.6:latest"
CONDA_NAME = "cloudgd-trainer"


def trainer_environment(
    model_kind: str | None = None, data_source: str | None = None
) -> dict[str, Any]:
    """The inline environment the prebuilt path runs in: the curated image and a conda
    specification holding Python, torch and the trainer's packages at the versions the
    tests run (``cloudgd/trainer_requirements.py``).

    Azure ML builds a conda file into its own environment on top of the image (``conda env
    create``), so the list is complete rather than "what the image lacks". The SDK
    registers an inline environment as ``CliV2AnonymousEnvironment`` with a version that
    hashes its content, so Azure builds each distinct specification once.
    """
    conda = {
        "name": CONDA_NAME,
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={PYTHON_VERSION}",
            "pip",
            {"pip": list(environment_requirements(model_kind, data_source))},
        ],
    }
    return {"image": CURATED_IMAGE, "conda_file": conda}


def environment_pip_list(environment: dict[str, Any]) -> list[str]:
    """The pip requirements of an inline environment's conda file (what it holds)."""
    for dependency in (environment.get("conda_file") or {}).get("dependencies", []):
        if isinstance(dependency, dict) and "pip" in dependency:
            return [str(item) for item in dependency["pip"]]
    return []


def job_environment(
    spec: JobSpec, options: AzureOptions, bundle: BundleRef | None = None
) -> str | dict[str, Any]:
    """The job's ``environment``: a registered environment's name, or an inline one."""
    if options.environment and spec.image != "prebuilt":
        raise SpecError(
            "image / providers.azure.environment: set one of them, not both",
            hint="image runs your image as is; providers.azure.environment names a registered "
            "Azure ML environment",
        )
    if spec.image != "prebuilt":
        return {"image": spec.image}
    if spec.script is not None and not options.environment:
        requires = list(bundle.requires) if bundle is not None else []
        return script_render.environment(CURATED_IMAGE, requires)
    return options.environment or trainer_environment(
        spec.trainer.model.kind, spec.trainer.data.source
    )


def environment_summary(environment: str | dict[str, Any]) -> str:
    """One line for the plan summary: the environment's name, or its image and packages."""
    if isinstance(environment, str):
        return environment
    pip = environment_pip_list(environment)
    return environment["image"] + (f" + conda: {', '.join(pip)}" if pip else "")

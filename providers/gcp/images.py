"""Vertex AI's prebuilt PyTorch training images, chosen offline.

Each image is published in three Artifact Registry multi-regions (us-, europe-,
asia-docker.pkg.dev); Vertex accepts any of them, and the nearest one starts faster.
Sources: https://cloud.google.com/vertex-ai/docs/training/pre-built-containers
(PyTorch 2.4, Python 3.10: ``pytorch-cpu.2-4.py310`` and ``pytorch-gpu.2-4.py310``,
``:latest`` tags only). There is no prebuilt image for TPU v5e ("Prebuilt containers
for TPU v5e are not available",
https://cloud.google.com/vertex-ai/docs/training/training-with-tpu-vm), so TPU jobs
need ``image:`` set to a custom image with torch_xla.
"""

from __future__ import annotations

from typing import Any

from cloudgd.accelerators import Accelerator
from cloudgd.errors import SpecError

PYTORCH_VERSION = "2-4"
PYTHON_TAG = "py310"
_MULTI_REGIONS = {"europe": "europe", "asia": "asia", "australia": "asia", "me": "asia"}


def registry_for(location: str) -> str:
    """The Artifact Registry multi-region host nearest to a Vertex location."""
    area = location.split("-", 1)[0]
    return f"{_MULTI_REGIONS.get(area, 'us')}-docker.pkg.dev"


def prebuilt_image(accelerator: Accelerator, location: str) -> str:
    """The prebuilt PyTorch training image for CPU or GPU jobs in ``location``."""
    if accelerator.is_tpu:
        raise SpecError(
            "image: Vertex AI has no prebuilt PyTorch training image for TPU v5e",
            hint="set image: to a custom image with torch and torch_xla installed "
            "(see docs/providers/gcp.md), or use a GPU accelerator",
        )
    kind = "gpu" if accelerator.is_gpu else "cpu"
    return (
        f"{registry_for(location)}/vertex-ai/training/"
        f"pytorch-{kind}.{PYTORCH_VERSION}.{PYTHON_TAG}:latest"
    )


def worker_code(
    *,
    image: str,
    executor_image: str,
    package_uri: str,
    module: str,
    command: list[str],
    args: list[str],
    env: list[dict[str, str]],
) -> dict[str, Any]:
    """A worker pool's code: with ``image: prebuilt``, ``pythonPackageSpec`` (Vertex
    pip-installs the package at ``package_uri`` into ``executor_image`` and runs
    ``python -m module``); else ``containerSpec`` running ``command`` in ``image``. Both
    get ``args`` and ``env`` when there are any."""
    if image == "prebuilt":
        body: dict[str, Any] = {
            "executorImageUri": executor_image,
            "packageUris": [package_uri],
            "pythonModule": module,
        }
        key = "pythonPackageSpec"
    else:
        body = {"imageUri": image, "command": command}
        key = "containerSpec"
    if args:
        body["args"] = args
    if env:
        body["env"] = env
    return {key: body}

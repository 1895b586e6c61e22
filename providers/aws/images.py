"""The AWS PyTorch training image for a region, version and device, resolved offline.

``sagemaker.core.image_uris.retrieve`` answers this from JSON bundled with
sagemaker-core, but importing it costs ~2 s, more than a whole dry run may take.
``data/pytorch_images.json`` is a subset of that JSON (training scope, PyTorch 2.x,
with each region's ECR host name); a test cross-checks this module against
``retrieve`` and regenerates the file with ``CLOUDGD_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from cloudgd.errors import SpecError

DATA_FILE = "pytorch_images.json"


@lru_cache(maxsize=1)
def image_table() -> dict[str, Any]:
    """The bundled image table (parsed once)."""
    text = resources.files("providers.aws").joinpath("data", DATA_FILE).read_text()
    table: dict[str, Any] = json.loads(text)
    return table


def processor(instance_type: str) -> str:
    """'gpu' for the g*/p* families, 'cpu' otherwise (sagemaker-core's rule)."""
    family = instance_type.split(".")[1] if instance_type.count(".") >= 2 else ""
    if family.startswith(("trn", "inf")):
        raise SpecError(
            f"resources.instance_type: {instance_type} runs AWS Neuron, and the prebuilt "
            "PyTorch image has no Neuron build cloudgd supports",
            hint="set image: to a Neuron training image (a Neuron DLC with the trainer), "
            "or choose a GPU instance",
        )
    return "gpu" if family[:1] in ("g", "p") else "cpu"


def training_image(region: str, version: str, py_version: str | None, instance_type: str) -> str:
    """ECR URI of the AWS PyTorch training image, exactly as sagemaker-core builds it."""
    table = image_table()
    aliases: dict[str, str] = table["version_aliases"]
    versions: dict[str, Any] = table["versions"]
    full = aliases.get(version, version)
    if full not in versions:
        known = ", ".join(sorted(aliases, key=_version_key))
        raise SpecError(
            f"providers.aws.framework_version: no AWS PyTorch training image {version!r}",
            hint=f"supported: {known} (or set image: to your own image URI)",
        )
    config = versions[full]
    pys: list[str] = config["py_versions"]
    if py_version is None:
        py_version = pys[-1]
    elif py_version not in pys:
        raise SpecError(
            f"providers.aws.py_version: the PyTorch {version} image ships {', '.join(pys)}, "
            f"not {py_version}",
            hint="leave py_version unset to use the image's own Python",
        )
    registries: dict[str, str] = config["registries"]
    if region not in registries:
        raise SpecError(
            f"resources.region: the AWS PyTorch {version} training image is not published "
            f"in {region}",
            hint="choose another region, or set image: to an image in your own ECR",
        )
    host = table["ecr_hosts"].get(region, f"ecr.{region}.amazonaws.com")
    tag = f"{version}-{processor(instance_type)}-{py_version}"
    return f"{registries[region]}.dkr.{host}/{config['repository']}:{tag}"


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())

"""The bundled image table resolves exactly as sagemaker-core's image_uris.retrieve."""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from cloudgd.errors import SpecError
from providers.aws import images

DATA_PATH = Path(images.__file__).parent / "data" / images.DATA_FILE


def build_table() -> dict[str, Any]:
    """The subset of sagemaker-core's pytorch.json that cloudgd bundles (PyTorch 2.x)."""
    from sagemaker.core import common_utils
    from sagemaker.core.image_uris import config_for_framework

    training = config_for_framework("pytorch")["training"]
    versions = {
        v: {key: c[key] for key in ("py_versions", "registries", "repository")}
        for v, c in training["versions"].items()
        if v.startswith("2.")
    }
    for v, c in training["versions"].items():
        # The resolver in images.py knows only the plain tag rule; refuse to bundle a
        # version whose config needs more (container_version, tag_prefix, ...).
        if v in versions:
            assert set(c) == {"py_versions", "registries", "repository"}, (v, sorted(c))
    regions = sorted({r for c in versions.values() for r in c["registries"]})
    resolver = common_utils._botocore_resolver()
    hosts = {}
    for region in regions:
        endpoint = resolver.construct_endpoint("ecr", region)
        hosts[region] = endpoint["hostname"] if endpoint else f"ecr.{region}.amazonaws.com"
    aliases = {a: v for a, v in training["version_aliases"].items() if v in versions}
    return {
        "_source": (
            f"sagemaker-core {metadata.version('sagemaker-core')}: "
            "sagemaker/core/image_uri_config/pytorch.json, scope training, versions 2.x; "
            "ecr_hosts from sagemaker.core.common_utils._botocore_resolver. "
            "Regenerate: CLOUDGD_UPDATE_GOLDEN=1 pytest tests/providers/aws/test_aws_images.py"
        ),
        "processors": training["processors"],
        "version_aliases": aliases,
        "versions": versions,
        "ecr_hosts": hosts,
    }


def test_bundled_table_matches_installed_sagemaker_core() -> None:
    pytest.importorskip("sagemaker.core.image_uris")
    table = build_table()
    text = json.dumps(table, indent=1, sort_keys=True) + "\n"
    if os.environ.get("CLOUDGD_UPDATE_GOLDEN"):
        DATA_PATH.write_text(text)
        images.image_table.cache_clear()
    on_disk = json.loads(DATA_PATH.read_text())
    on_disk.pop("_source")
    table.pop("_source")
    assert on_disk == table


CASES = [
    ("us-east-1", "2.5", None, "ml.g5.xlarge"),
    ("us-west-2", "2.3", "py311", "ml.m5.xlarge"),
    ("eu-west-1", "2.10", None, "ml.p4d.24xlarge"),
    ("cn-north-1", "2.5", None, "ml.c5.2xlarge"),
    ("ap-east-1", "2.8.0", "py312", "ml.g6.12xlarge"),
    ("il-central-1", "2.6", None, "ml.p5.48xlarge"),
    ("us-gov-west-1", "2.4", None, "ml.m5.large"),
]


@pytest.mark.parametrize(("region", "version", "py", "instance"), CASES)
def test_resolution_equals_sagemaker_core_retrieve(
    region: str, version: str, py: str | None, instance: str
) -> None:
    iu = pytest.importorskip("sagemaker.core.image_uris")
    expected = iu.retrieve(
        framework="pytorch",
        region=region,
        version=version,
        py_version=py,
        instance_type=instance,
        image_scope="training",
    )
    assert images.training_image(region, version, py, instance) == expected


def test_gpu_instance_gets_the_gpu_image() -> None:
    uri = images.training_image("us-east-1", "2.5", None, "ml.g5.xlarge")
    assert uri == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-gpu-py311"


def test_unknown_version_names_the_field_and_the_choices() -> None:
    with pytest.raises(SpecError) as err:
        images.training_image("us-east-1", "9.9", None, "ml.m5.xlarge")
    assert "providers.aws.framework_version" in err.value.message
    assert "2.5" in (err.value.hint or "")


def test_wrong_python_for_version_is_refused() -> None:
    with pytest.raises(SpecError, match=r"providers\.aws\.py_version"):
        images.training_image("us-east-1", "2.5", "py39", "ml.m5.xlarge")


def test_unpublished_region_is_refused() -> None:
    with pytest.raises(SpecError, match=r"resources\.region"):
        images.training_image("mars-north-1", "2.5", None, "ml.m5.xlarge")


def test_trainium_needs_a_neuron_image() -> None:
    with pytest.raises(SpecError, match="Neuron"):
        images.training_image("us-east-1", "2.5", None, "ml.trn1.2xlarge")

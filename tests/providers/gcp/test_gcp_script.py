"""A ``script:`` job on Vertex AI: python-package mode runs cloudgd's launcher from the sdist
(whose install_requires are the script's requirements), or a custom image unpacks the same
sdist; inputs are read through ``/gcs/``. Golden bodies in tests/golden/gcp/script_*.json
parse strictly as aiplatform_v1 CustomJobs (regenerate with ``CLOUDGD_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gcp_helpers import FIXED_BUNDLE, fixed_ctx, make_spec
from google.cloud import aiplatform_v1

from cloudgd.errors import SpecError
from providers.gcp.render import render
from tests.support.golden import assert_golden
from tests.support.script_block import byo_script

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "gcp"
SCRIPT_BUNDLE = FIXED_BUNDLE.model_copy(update={"requires": ["numpy>=1.26"]})
CUSTOM_IMAGE = "us-central1-docker.pkg.dev/cloudgd-test-123/train/byo:1.0"


def script(**fields: Any) -> dict[str, Any]:
    """The example's script block (examples/byo-script), reading Cloud Storage inputs."""
    return byo_script(
        {"train": "gs://cloudgd-data/byo/train/", "val": "gs://cloudgd-data/byo/val.csv"}, **fields
    )


CASES: dict[str, dict[str, Any]] = {
    "script_byo": {},
    "script_ddp_spot": {
        "resources": {"accelerator": "A100:2", "nodes": 2},
        "scaling": {"spot": True, "restarts": 1},
        "limits": {"max_runtime": "2h"},
        "checkpoints": {"uri": "gs://cloudgd-test-staging/ckpt/byo"},
    },
    "script_custom_image": {"image": CUSTOM_IMAGE, "resources": {"accelerator": "L4:1"}},
}


def script_spec(**fields: Any) -> Any:
    return make_spec(**{"name": "byo", "trainer": None, "code": ".", "script": script(), **fields})


def rendered(case: str) -> str:
    return render(script_spec(**CASES[case]), fixed_ctx(bundle=SCRIPT_BUNDLE)).to_json()


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_plan_matches_golden_file(case: str) -> None:
    path = GOLDEN / f"{case}.json"
    text = rendered(case)
    assert_golden(path, text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_golden_body_is_a_strict_canonical_custom_job(case: str) -> None:
    body = json.loads((GOLDEN / f"{case}.json").read_text())["request"]["customJob"]
    job = aiplatform_v1.CustomJob.from_json(json.dumps(body), ignore_unknown_fields=False)
    canonical = aiplatform_v1.CustomJob.to_json(
        job, use_integers_for_enums=False, always_print_fields_with_no_presence=False
    )
    assert json.loads(canonical) == body


def test_python_package_mode_runs_the_launcher_with_each_input_on_the_fuse_mount() -> None:
    plan = json.loads(rendered("script_byo"))
    [pool] = plan["request"]["customJob"]["jobSpec"]["workerPoolSpecs"]
    package = pool["pythonPackageSpec"]
    assert package["pythonModule"] == "trainers.script_launch"
    # a folder URI is that folder; an object's URI the folder holding it (a directory always)
    assert package["args"] == [
        "--cloudgd-data", "train=/gcs/cloudgd-data/byo/train",
        "--cloudgd-data", "val=/gcs/cloudgd-data/byo",
    ]  # fmt: skip
    assert plan["summary"]["inputs"] == script()["inputs"]


def test_every_node_runs_one_launcher_which_starts_torchrun_itself() -> None:
    pools = json.loads(rendered("script_ddp_spot"))["request"]["customJob"]["jobSpec"][
        "workerPoolSpecs"
    ]
    assert [p["replicaCount"] for p in pools] == ["1", "1"]
    for pool in pools:
        package = pool["pythonPackageSpec"]
        assert package["pythonModule"] == "trainers.script_launch"
        checkpoints = ["--cloudgd-checkpoint-dir", "/gcs/cloudgd-test-staging/ckpt/byo"]
        assert package["args"][-2:] == checkpoints


def test_a_custom_image_unpacks_the_sdist_and_runs_the_same_launcher() -> None:
    [pool] = json.loads(rendered("script_custom_image"))["request"]["customJob"]["jobSpec"][
        "workerPoolSpecs"
    ]
    container = pool["containerSpec"]
    assert container["imageUri"] == CUSTOM_IMAGE
    assert container["command"][-1] == "/gcs/cloudgd-test-staging/cloudgd/code/" + (
        FIXED_BUNDLE.filename
    )
    assert "exec python -m trainers.script_launch" in container["command"][2]


def test_inputs_vertex_cannot_read_are_refused_naming_the_channel() -> None:
    spec = script_spec(script=script(inputs={"train": "s3://bucket/train/"}))
    with pytest.raises(SpecError, match=r"script\.inputs\.train: a Vertex job reads"):
        render(spec, fixed_ctx(bundle=SCRIPT_BUNDLE))


def test_a_script_on_tpu_v5e_with_its_own_image_needs_no_prebuilt_image() -> None:
    # Vertex has no prebuilt image for TPU v5e; a job bringing its own image never uses one.
    from test_gcp_golden import TPU_IMAGE

    spec = script_spec(image=TPU_IMAGE, resources={"accelerator": "tpu-v5e:8"})
    plan = json.loads(render(spec, fixed_ctx(bundle=SCRIPT_BUNDLE)).to_json())
    [pool] = plan["request"]["customJob"]["jobSpec"]["workerPoolSpecs"]
    assert pool["containerSpec"]["imageUri"] == TPU_IMAGE
    assert "pythonPackageSpec" not in pool

"""Golden Vertex AI requests: byte-stable plans whose bodies parse strictly as CustomJobs.

Regenerate after an intended change with ``CLOUDGD_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gcp_helpers import fixed_ctx, make_spec
from google.cloud import aiplatform_v1
from google.protobuf import json_format

from providers.gcp.render import render
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "gcp"
CUSTOM_IMAGE = "us-central1-docker.pkg.dev/cloudgd-test-123/train/cloudgd-trainer:1.0"
TPU_IMAGE = "us-central1-docker.pkg.dev/cloudgd-test-123/train/cloudgd-trainer-xla:1.0"

CASES: dict[str, dict[str, Any]] = {
    # data.mode auto streams a big parquet source: read through the /gcs FUSE path.
    "stream_parquet": {
        "trainer": {
            "data": {"source": "parquet", "uri": "gs://cloudgd-data/events/", "size_gb": 120}
        },
        "resources": {"accelerator": "L4:1"},
    },
    "cpu": {},
    "single_gpu": {"resources": {"accelerator": "A100:1"}},
    "multi_node_gpu": {
        "resources": {"accelerator": "A100:8", "nodes": 3},
        "scaling": {"restarts": 2},
        "distributed": {"strategy": "ddp"},
        "env": {"NCCL_DEBUG": "WARN"},
    },
    "tpu_v5e": {
        "resources": {"accelerator": "tpu-v5e:8"},
        "image": TPU_IMAGE,
        "trainer": {"epochs": 2, "device": "tpu", "precision": "bf16"},
    },
    "spot": {
        "resources": {"accelerator": "T4:1"},
        "scaling": {"spot": True},
        "limits": {"max_runtime": "6h"},
        "checkpoints": {"uri": "gs://cloudgd-test-staging/ckpt/digits"},
    },
    "custom_image": {
        "resources": {"accelerator": "L4:1"},
        "image": CUSTOM_IMAGE,
        "trainer": {"epochs": 2, "data": {"source": "csv", "uri": "gs://data-bkt/train.csv"}},
        "tags": {"team": "ml", "Cost-Center": "R&D 42"},
        "secrets": {"HF_TOKEN": {"source": "gcp-secretmanager", "ref": "projects/p/secrets/hf"}},
        "providers": {
            "gcp": {
                "project": "cloudgd-test-123",
                "staging_bucket": "gs://cloudgd-test-staging",
                "location": "europe-west4",
                "service_account": "trainer@cloudgd-test-123.iam.gserviceaccount.com",
                "network": "projects/123456/global/networks/training",
                "tensorboard": "projects/cloudgd-test-123/locations/europe-west4/tensorboards/7",
                "boot_disk_type": "pd-standard",
                "kms_key_name": "projects/cloudgd-test-123/locations/europe-west4/keyRings/k/"
                "cryptoKeys/c",
            }
        },
    },
    # The catalog has no Vertex training rate for a2-highgpu-8g, only a Compute Engine
    # stand-in, so the cap needs a price the user vouches for.
    "budget_capped": {
        "resources": {"accelerator": "A100:8", "nodes": 2},
        "limits": {"max_runtime": "6h", "max_cost_usd": 40, "price_per_hour_usd": 32},
    },
}


def _plan_json(case: str) -> str:
    key = "ci-run-42" if case == "multi_node_gpu" else None
    return render(make_spec(**CASES[case]), fixed_ctx(idempotency_key=key)).to_json()


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_matches_golden_file(case: str) -> None:
    path = GOLDEN / f"{case}.json"
    text = _plan_json(case)
    assert_golden(path, text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_body_is_a_strict_canonical_custom_job(case: str) -> None:
    body = json.loads((GOLDEN / f"{case}.json").read_text())["request"]["customJob"]
    job = aiplatform_v1.CustomJob.from_json(json.dumps(body), ignore_unknown_fields=False)
    canonical = aiplatform_v1.CustomJob.to_json(
        job, use_integers_for_enums=False, always_print_fields_with_no_presence=False
    )
    # What we render is exactly the proto's own JSON: no field dropped or coerced.
    assert json.loads(canonical) == body


def test_plan_is_identical_across_renders() -> None:
    assert _plan_json("multi_node_gpu") == _plan_json("multi_node_gpu")


def test_strict_parse_rejects_an_unknown_field() -> None:
    body = json.loads((GOLDEN / "cpu.json").read_text())["request"]["customJob"]
    body["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]["machineTypo"] = "n1-standard-8"
    with pytest.raises(json_format.ParseError, match="machineTypo"):
        aiplatform_v1.CustomJob.from_json(json.dumps(body), ignore_unknown_fields=False)


def test_a_big_parquet_source_streams_through_the_fuse_path() -> None:
    plan = json.loads((GOLDEN / "stream_parquet.json").read_text())
    [pool] = plan["request"]["customJob"]["jobSpec"]["workerPoolSpecs"]
    assert pool["pythonPackageSpec"]["args"][:2] == ["--data-dir", "/gcs/cloudgd-data/events/"]
    assert plan["summary"]["data_mode"].startswith("stream")

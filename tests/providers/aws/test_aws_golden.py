"""Golden SageMaker requests: each spec renders byte-for-byte to tests/golden/aws/<case>.json.

Regenerate after an intended change with ``CLOUDGD_UPDATE_GOLDEN=1`` and review the diff.
Every golden request also passes botocore's CreateTrainingJob validation and
cloudgd's own pattern/enum/cross-field checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_helpers import make_ctx, make_spec

from providers.aws.client import request_problems
from providers.aws.render import render_plan
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "aws"

CASES: dict[str, dict[str, Any]] = {
    # data.mode stream: the train channel reads S3 on demand (FastFile), not copied first.
    "stream_parquet": {
        "trainer": {
            "data": {
                "source": "parquet",
                "uri": "s3://cloudgd-data/events/",
                "mode": "stream",
                "workers": 4,
            }
        },
        "resources": {"accelerator": "A10G:1"},
    },
    "single_cpu": {},
    "single_gpu": {"resources": {"accelerator": "A10G:1", "region": "us-west-2"}},
    "ddp_2node_multi_gpu": {
        "trainer": {"data": {"source": "csv", "uri": "s3://cloudgd-data/digits/", "target": "y"}},
        "resources": {"accelerator": "A100:8", "nodes": 2, "disk_gb": 200},
        "limits": {"max_runtime": "6h"},
    },
    "spot_checkpoints": {
        "resources": {"accelerator": "T4:1"},
        "scaling": {"spot": True, "max_wait": "4h", "restarts": 2},
        "limits": {"max_runtime": "2h"},
        "checkpoints": {"uri": "s3://cloudgd-checkpoints/digits/"},
    },
    "warm_pool": {
        "resources": {"accelerator": "A10G:1"},
        "scaling": {"keep_alive": "30m"},
        "limits": {"max_runtime": "1h"},
    },
    "byo_image": {
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/cloudgd-trainer:1.0",
        "resources": {"accelerator": "A10G:1", "instance_type": "ml.g5.xlarge"},
        "env": {"HF_HOME": "/opt/ml/input/hf"},
        "secrets": {"HF_TOKEN": {"source": "aws-secretsmanager", "ref": "cloudgd/hf-token"}},
        "tags": {"team": "ml-platform", "cost-center": "1234"},
        "providers": {
            "aws": {
                "role_arn": "arn:aws:iam::123456789012:role/cloudgd-sagemaker",
                "output_uri": "s3://cloudgd-artifacts/jobs",
                "subnets": ["subnet-0a1b2c3d"],
                "security_group_ids": ["sg-0a1b2c3d"],
                "kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
                "enable_network_isolation": True,
            }
        },
    },
    # ml.g5.xlarge has a SageMaker training rate in the catalog; a budget is never capped
    # from a stand-in (EC2) price.
    "budget_capped": {
        "resources": {"accelerator": "A10G:1"},
        "limits": {"max_runtime": "6h", "max_cost_usd": 5},
    },
}


def rendered(case: str) -> str:
    return render_plan(make_spec(**CASES[case]), make_ctx(idempotency_key="ci-42")).to_json()


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_matches_golden_file(case: str) -> None:
    path = GOLDEN / f"{case}.json"
    text = rendered(case)
    assert_golden(path, text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_request_passes_botocore_and_cloudgd_checks(case: str) -> None:
    request = json.loads((GOLDEN / f"{case}.json").read_text())["request"]
    assert request_problems(request) == []


def test_budget_cap_lowers_max_runtime_to_what_the_budget_buys() -> None:
    plan = json.loads((GOLDEN / "budget_capped.json").read_text())
    # ml.g5.xlarge at $1.408/h (SageMaker training rate): $5 buys 12784.09 s of one node.
    assert plan["request"]["StoppingCondition"] == {"MaxRuntimeInSeconds": 12784}
    assert plan["summary"]["price_basis"] == "training"
    assert plan["summary"]["budget_capped"] is True


def test_ddp_golden_runs_torchrun_across_both_nodes() -> None:
    request = json.loads((GOLDEN / "ddp_2node_multi_gpu.json").read_text())["request"]
    assert request["ResourceConfig"]["InstanceCount"] == 2
    assert request["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"
    assert request["InputDataConfig"][0]["ChannelName"] == "train"


def test_spot_golden_waits_longer_than_it_runs_and_checkpoints() -> None:
    request = json.loads((GOLDEN / "spot_checkpoints.json").read_text())["request"]
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 7200,
        "MaxWaitTimeInSeconds": 14400,
    }
    assert request["CheckpointConfig"]["S3Uri"] == "s3://cloudgd-checkpoints/digits/"
    assert request["RetryStrategy"] == {"MaximumRetryAttempts": 2}


def test_a_streamed_source_reads_its_channel_with_fastfile_and_a_download_does_not() -> None:
    [channel] = json.loads((GOLDEN / "stream_parquet.json").read_text())["request"][
        "InputDataConfig"
    ]
    assert channel["InputMode"] == "FastFile"
    data = {"source": "parquet", "uri": "s3://b/events/", "size_gb": 2}  # auto: small
    request = render_plan(make_spec(trainer={"data": data}), make_ctx()).request
    assert "InputMode" not in request["InputDataConfig"][0]

"""Golden plans of the classic examples: what `cloudgd plan examples/<x>.yaml -p <cloud>`
prints (with a fixed clock and a stand-in bundle), kept byte-for-byte in
tests/golden/classics/, and each checked the way its adapter's own goldens are:
botocore's CreateTrainingJob shape, a strict CustomJob parse, an azure-ai-ml round trip.

Regenerate after an intended change with ``CLOUDGD_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import io
import json
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from classics_helpers import EXAMPLE_PROVIDERS, EXAMPLES, GOLDEN

from cloudgd import planning, runner
from cloudgd.loader import LoadedSpec, load_spec
from cloudgd.plan import BundleRef
from tests.support.golden import assert_golden

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _fixed_bundle(loaded: LoadedSpec, fmt: str) -> BundleRef:
    # The real bundle hashes the trainer's current bytes; goldens must not.
    stem = "cloudgd-trainer" if fmt == "sdist" else "cloudgd-bundle"
    return BundleRef(path=f"/cloudgd/bundles/{stem}-0123456789ab.tar.gz",
                     sha256="0123456789ab" + "0" * 52,
                     filename=f"{stem}-0123456789ab.tar.gz", format=fmt)  # fmt: skip


def plan_json(example: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(planning, "build_job_bundle", _fixed_bundle)
    planned = runner.plan(
        str(EXAMPLES / f"{example}.yaml"), EXAMPLE_PROVIDERS[example], now=NOW, env={}
    )
    return planned.plan.to_json()


def golden(example: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GOLDEN / f"{example}.json").read_text())
    return loaded


@pytest.mark.parametrize("example", sorted(EXAMPLE_PROVIDERS))
def test_plan_matches_golden_file(example: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = GOLDEN / f"{example}.json"
    text = plan_json(example, monkeypatch)
    assert_golden(path, text)


def test_sagemaker_mlp_request_is_a_valid_spot_job_with_checkpoints() -> None:
    from providers.aws.client import request_problems

    request = golden("sagemaker-mlp")["request"]
    assert request_problems(request) == []  # botocore shape + cloudgd's own checks
    assert request["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge"
    assert request["ResourceConfig"]["InstanceCount"] == 1
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600,
                                            "MaxWaitTimeInSeconds": 7200}  # fmt: skip
    assert request["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert request["RetryStrategy"] == {"MaximumRetryAttempts": 2}
    [channel] = request["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://my-cloudgd-bucket/data/digits/train.csv"
    )


@pytest.mark.parametrize("example", ["vertex-bert", "vertex-bert-tpu"])
def test_vertex_bert_bodies_parse_strictly_as_custom_jobs(example: str) -> None:
    from google.cloud import aiplatform_v1

    body = golden(example)["request"]["customJob"]
    job = aiplatform_v1.CustomJob.from_json(json.dumps(body), ignore_unknown_fields=False)
    canonical = aiplatform_v1.CustomJob.to_json(
        job, use_integers_for_enums=False, always_print_fields_with_no_presence=False
    )
    assert json.loads(canonical) == body
    [pool] = body["jobSpec"]["workerPoolSpecs"]
    if example == "vertex-bert":
        l4 = {"machineType": "g2-standard-8", "acceleratorType": "NVIDIA_L4", "acceleratorCount": 1}
        assert pool["machineSpec"] == l4
        assert "pythonPackageSpec" in pool
    else:
        assert pool["machineSpec"]["machineType"] == "ct5lp-hightpu-1t"
        assert pool["machineSpec"]["tpuTopology"] == "1x1"
        assert pool["containerSpec"]["imageUri"].endswith("cloudgd-trainer-xla:1.0")


def _without_sdk_additions(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("name") == "CliV2AnonymousEnvironment":
            value = {k: v for k, v in value.items() if k not in ("name", "version")}
        return {k: _without_sdk_additions(v) for k, v in value.items() if v != {}}
    return value


def _loaded(loader: Any, document: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return loader(io.StringIO(yaml.safe_dump(document)))


def test_azure_cnn_job_and_cluster_round_trip_through_azure_ai_ml() -> None:
    from azure.ai.ml import load_compute, load_job

    plan = golden("azure-cnn-ddp")
    job_doc = plan["request"]
    job = _loaded(load_job, job_doc)._to_job()
    dumped = json.loads(json.dumps(job._to_dict()))
    assert _without_sdk_additions(dumped) == {k: v for k, v in job_doc.items() if k != "$schema"}
    assert job_doc["distribution"] == {"type": "pytorch", "process_count_per_instance": 4}
    assert job_doc["resources"]["instance_count"] == 2
    [extra] = plan["extra_requests"]
    cluster = extra["request"]
    compute = _loaded(load_compute, cluster)
    again = json.loads(json.dumps(compute._to_dict()))
    again.pop("enable_node_public_ip")  # the SDK's default for a field cloudgd leaves alone
    assert again == {k: v for k, v in cluster.items() if k != "$schema"}
    assert (cluster["size"], cluster["tier"]) == ("Standard_NC64as_T4_v3", "low_priority")
    assert (cluster["min_instances"], cluster["max_instances"]) == (0, 4)
    assert cluster["idle_time_before_scale_down"] == 600
    assert job_doc["compute"] == f"azureml:{cluster['name']}"


def test_azure_cnn_scales_the_learning_rate_with_the_global_batch() -> None:
    from trainers.optim import scaled_lr

    spec = load_spec(str(EXAMPLES / "azure-cnn-ddp.yaml")).spec
    global_batch = spec.trainer.batch_size * spec.world_size * spec.trainer.grad_accum_steps
    assert (spec.world_size, global_batch) == (8, 256)
    assert scaled_lr(spec.trainer.optimizer, global_batch) == pytest.approx(0.4)

"""Golden Azure ML plans: each spec renders byte-for-byte to tests/golden/azure/<case>.json,
and every rendered job and cluster loads through azure-ai-ml without losing anything.

Regenerate after an intended change with ``CLOUDGD_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_helpers import WORKSPACE, make_ctx, make_spec

from providers.azure.render import render_plan
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "azure"

CASES: dict[str, dict[str, Any]] = {
    # data.mode stream: the train input is mounted read-only (ro_mount), never downloaded.
    "stream_parquet": {
        "trainer": {
            "data": {
                "source": "parquet",
                "uri": "azureml://datastores/workspaceblobstore/paths/events/",
                "mode": "stream",
            }
        },
        "resources": {"accelerator": "T4:1"},
    },
    "cpu": {},
    "single_gpu": {
        "trainer": {
            "epochs": 2,
            "data": {
                "source": "csv",
                "uri": "azureml://datastores/workspaceblobstore/paths/digits/train.csv",
                "target": "y",
            },
        },
        "resources": {"accelerator": "T4:1"},
        "env": {"HF_HOME": "/tmp/hf"},
        "secrets": {
            "HF_TOKEN": {
                "source": "azure-keyvault",
                "ref": "https://ml-kv.vault.azure.net/secrets/hf-token",
            }
        },
        "tags": {"team": "ml-platform"},
    },
    "ddp_2node": {
        "description": "two nodes, eight A100 each",
        "resources": {"accelerator": "A100:8", "nodes": 2},
        "limits": {"max_runtime": "6h"},
        "providers": {"azure": {**WORKSPACE, "manage_compute": True, "shm_size": "16g"}},
    },
    "spot_autoscale": {
        "resources": {"accelerator": "V100:1", "nodes": 2},
        "scaling": {
            "spot": True,
            "restarts": 2,
            "min_nodes": 1,
            "max_nodes": 4,
            "idle_scale_down": "20m",
        },
        "limits": {"max_runtime": "3h"},
        "providers": {"azure": {**WORKSPACE, "manage_compute": True}},
    },
    "custom_image": {
        "image": "mlregistry.azurecr.io/cloudgd-trainer:1.0",
        "resources": {"accelerator": "A100-80GB:1", "instance_type": "Standard_NC24ads_A100_v4"},
        "checkpoints": {"uri": "azureml://datastores/checkpoints/paths/digits/"},
        "providers": {"azure": {**WORKSPACE, "compute": "a100-cluster"}},
    },
    "budget_capped": {
        "resources": {"accelerator": "T4:1", "nodes": 2},
        "limits": {"max_runtime": "24h", "max_cost_usd": 5},
    },
}


def _plan_json(case: str) -> str:
    return render_plan(make_spec(**CASES[case]), make_ctx()).to_json()


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_matches_golden(case: str) -> None:
    path = GOLDEN / f"{case}.json"
    rendered = _plan_json(case)
    assert_golden(path, rendered)


def _without_sdk_additions(value: Any) -> Any:
    """What the SDK adds on load and carries no information of ours: empty
    ``properties``/``parameters`` maps, and the name/version it gives an anonymous
    (image-only) environment."""
    if isinstance(value, dict):
        if value.get("name") == "CliV2AnonymousEnvironment":
            value = {k: v for k, v in value.items() if k not in ("name", "version")}
        return {k: _without_sdk_additions(v) for k, v in value.items() if v != {}}
    return value


def _loaded(loader: Any, document: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return loader(io.StringIO(yaml.safe_dump(document)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_job_round_trips_through_load_job(case: str) -> None:
    from azure.ai.ml import load_job

    job_doc = json.loads((GOLDEN / f"{case}.json").read_text())["request"]
    job = _loaded(load_job, job_doc)._to_job()
    dumped = json.loads(json.dumps(job._to_dict()))
    expected = {k: v for k, v in job_doc.items() if k != "$schema"}
    assert _without_sdk_additions(dumped) == expected
    # and loading what the SDK wrote gives the same job again
    again = _loaded(load_job, dumped)._to_job()
    assert json.loads(json.dumps(again._to_dict())) == dumped


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_cluster_round_trips_through_load_compute(case: str) -> None:
    from azure.ai.ml import load_compute

    extra = json.loads((GOLDEN / f"{case}.json").read_text())["extra_requests"]
    [cluster] = [e["request"] for e in extra if e["operation"] == "azureml:ComputeCreateOrUpdate"]
    compute = _loaded(load_compute, cluster)
    dumped = json.loads(json.dumps(compute._to_dict()))
    expected = {k: v for k, v in cluster.items() if k != "$schema"}
    # The SDK adds its default for a field cloudgd leaves alone.
    assert dumped.pop("enable_node_public_ip") is True
    assert dumped == expected


def test_budget_lowers_the_timeout_to_what_the_budget_buys() -> None:
    plan = json.loads(_plan_json("budget_capped"))
    # $5 / (2 nodes × $0.526/h) = 4.7529 h = 17110 s (catalog T4 price, eastus).
    assert plan["request"]["limits"]["timeout"] == 17110
    assert plan["summary"]["budget_capped"] is True


def test_spot_runs_on_a_low_priority_cluster_with_the_autoscale_settings() -> None:
    plan = json.loads(_plan_json("spot_autoscale"))
    [extra] = plan["extra_requests"]
    assert extra["apply"] is True
    cluster = extra["request"]
    assert cluster["tier"] == "low_priority"
    assert cluster["name"].endswith("-lp")
    assert (cluster["min_instances"], cluster["max_instances"]) == (1, 4)
    assert cluster["idle_time_before_scale_down"] == 1200
    assert plan["request"]["compute"] == f"azureml:{cluster['name']}"
    assert "queue_settings" not in plan["request"]


def test_a_streamed_source_is_mounted_and_a_download_setting_is_refused() -> None:
    from cloudgd.errors import SpecError

    job = json.loads((GOLDEN / "stream_parquet.json").read_text())["request"]
    assert job["inputs"]["train"]["mode"] == "ro_mount"
    spec = make_spec(
        **{
            **CASES["stream_parquet"],
            "providers": {"azure": {**WORKSPACE, "data_mode": "download"}},
        }
    )
    with pytest.raises(SpecError, match=r"^providers\.azure\.data_mode: download copies"):
        render_plan(spec, make_ctx())

"""Rendering rules and the plan-time refusals of the Vertex AI provider."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gcp_helpers import BUCKET, PROJECT, fixed_ctx, make_spec

from cloudgd.errors import BudgetError, SpecError
from providers.gcp.images import prebuilt_image, registry_for
from providers.gcp.render import REHEARSAL_BUCKET, REHEARSAL_PROJECT, effective_options, render


def _job(**overrides: Any) -> dict[str, Any]:
    job: dict[str, Any] = render(make_spec(**overrides), fixed_ctx()).request["customJob"]
    return job


def _refusal(**overrides: Any) -> str:
    with pytest.raises(SpecError) as caught:
        render(make_spec(**overrides), fixed_ctx())
    assert "\n" not in caught.value.message
    return caught.value.message


def test_the_sdist_is_a_declared_upload_under_the_staging_bucket() -> None:
    plan = render(make_spec(), fixed_ctx())
    (upload,) = plan.uploads
    assert upload.destination == f"{BUCKET}/cloudgd/code/cloudgd-trainer-0123456789ab.tar.gz"
    package = plan.request["customJob"]["jobSpec"]["workerPoolSpecs"][0]["pythonPackageSpec"]
    assert package["packageUris"] == [upload.destination]
    assert package["pythonModule"] == "trainers"
    assert plan.request["parent"] == f"projects/{PROJECT}/locations/us-central1"


def test_multi_node_puts_one_primary_and_the_other_nodes_in_pool_one() -> None:
    pools = _job(resources={"accelerator": "A100:8", "nodes": 4})["jobSpec"]["workerPoolSpecs"]
    assert [p["replicaCount"] for p in pools] == ["1", "3"]
    assert pools[0]["machineSpec"] == pools[1]["machineSpec"]


def test_explicit_machine_type_is_kept_when_the_accelerator_attaches() -> None:
    machine = _job(resources={"accelerator": "T4:2", "instance_type": "n1-standard-8"})["jobSpec"][
        "workerPoolSpecs"
    ][0]["machineSpec"]
    assert machine == {
        "machineType": "n1-standard-8",
        "acceleratorType": "NVIDIA_TESLA_T4",
        "acceleratorCount": 2,
    }


def test_accelerator_the_machine_type_cannot_take_is_refused() -> None:
    message = _refusal(resources={"accelerator": "T4:1", "instance_type": "a2-highgpu-1g"})
    assert message.startswith("resources.instance_type:")


def test_tpu_with_several_nodes_is_refused() -> None:
    message = _refusal(resources={"accelerator": "tpu-v5e:8", "nodes": 2}, image="img:1")
    assert message.startswith("resources.nodes:") and "TPU" in message


def test_tpu_with_the_prebuilt_image_is_refused() -> None:
    assert "no prebuilt PyTorch training image for TPU v5e" in _refusal(
        resources={"accelerator": "tpu-v5e:4"}
    )


def test_trainium_is_refused_with_an_alternative() -> None:
    with pytest.raises(SpecError) as caught:
        render(make_spec(resources={"accelerator": "Trainium:16"}), fixed_ctx())
    assert "resources.accelerator" in caught.value.message
    assert "tpu-v5e" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("gcp", "field"),
    [({"staging_bucket": BUCKET}, "project"), ({"project": PROJECT}, "staging_bucket")],
)
def test_missing_project_or_bucket_names_the_field(gcp: dict[str, str], field: str) -> None:
    assert _refusal(providers={"gcp": gcp}).startswith(f"providers.gcp.{field}:")


def test_user_settings_fill_in_what_the_spec_leaves_out() -> None:
    spec = make_spec(providers={"gcp": {"location": "europe-west4"}})
    ctx = fixed_ctx(settings={"gcp": {"project": PROJECT, "staging_bucket": BUCKET}})
    options = effective_options(spec, ctx)
    assert (options.project, options.location) == (PROJECT, "europe-west4")
    assert render(spec, ctx).request["parent"].endswith("/locations/europe-west4")


def test_tensorboard_needs_a_service_account() -> None:
    gcp = {"project": PROJECT, "staging_bucket": BUCKET, "tensorboard": "projects/p/x/t/1"}
    assert _refusal(providers={"gcp": gcp}).startswith("providers.gcp.tensorboard:")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"trainer": {"data": {"source": "csv", "uri": "s3://b/train.csv"}}}, "trainer.data.uri"),
        ({"trainer": {"data": {"source": "csv", "uri": "data/train.csv"}}}, "trainer.data.uri"),
        ({"checkpoints": {"uri": "s3://b/ckpt"}}, "checkpoints.uri"),
        ({"secrets": {"TOKEN": {"source": "env", "ref": "MY_TOKEN"}}}, "secrets.TOKEN"),
        (
            {"secrets": {"TOKEN": {"source": "gcp-secretmanager", "ref": "hf-token"}}},
            "secrets.TOKEN.ref",
        ),
        ({"tags": {"9lives": "x"}}, "tags.9lives"),
        ({"tags": {"cloudgd-job": "x"}}, "tags.cloudgd-job"),
    ],
)
def test_inputs_a_vertex_job_cannot_use_are_refused(overrides: dict, field: str) -> None:
    assert _refusal(**overrides).startswith(f"{field}:")


def test_secrets_travel_as_references_never_values() -> None:
    job = _job(secrets={"HF_TOKEN": {"source": "gcp-secretmanager", "ref": "projects/p/secrets/h"}})
    env = job["jobSpec"]["workerPoolSpecs"][0]["pythonPackageSpec"]["env"]
    assert env == [{"name": "CLOUDGD_SECRET_HF_TOKEN", "value": "projects/p/secrets/h"}]


def test_budget_cap_without_a_training_price_is_refused() -> None:
    # a3-highgpu-8g has no Vertex training rate (nor a Compute Engine stand-in for 8 H100s)
    limits = {"max_cost_usd": 100, "on_budget": "cap"}
    with pytest.raises(BudgetError, match=r"limits\.max_cost_usd"):
        render(make_spec(resources={"accelerator": "H100:8"}, limits=limits), fixed_ctx())


def test_plan_without_the_sdist_is_refused() -> None:
    with pytest.raises(SpecError, match="sdist"):
        render(make_spec(), fixed_ctx().model_copy(update={"bundle": None}))


def test_spot_runs_as_the_spot_strategy_with_no_wait_limit() -> None:
    scheduling = _job(scaling={"spot": True}, limits={"max_runtime": "6h"})["jobSpec"]["scheduling"]
    assert scheduling == {"timeout": "21600s", "strategy": "SPOT"}


def test_spot_max_wait_is_refused_because_vertex_only_honours_it_for_flex_start() -> None:
    # maxWaitDuration used to be sent with SPOT, where Vertex ignores it.
    with pytest.raises(SpecError, match=r"^scaling\.max_wait: .*flex-start") as caught:
        _job(scaling={"spot": True, "max_wait": "8h"}, limits={"max_runtime": "6h"})
    assert caught.value.hint is not None and "scaling.max_wait=null" in caught.value.hint


def test_idempotency_key_changes_the_name_and_labels() -> None:
    spec = make_spec()
    first = render(spec, fixed_ctx(idempotency_key="run-1"))
    second = render(spec, fixed_ctx(idempotency_key="Run #2 / retry"))
    assert first.job_name != second.job_name
    labels = second.request["customJob"]["labels"]
    assert labels["cloudgd-key"].startswith("sha256-")  # not a valid label value as typed
    assert first.request["customJob"]["labels"]["cloudgd-key"] == "run-1"


@pytest.mark.parametrize(
    ("location", "host"),
    [("us-central1", "us"), ("europe-west4", "europe"), ("asia-east1", "asia")],
)
def test_prebuilt_image_comes_from_the_nearest_registry(location: str, host: str) -> None:
    assert registry_for(location) == f"{host}-docker.pkg.dev"
    acc = make_spec(resources={"accelerator": "T4:1"}).resources.parsed_accelerator
    assert prebuilt_image(acc, location).startswith(f"{host}-docker.pkg.dev/vertex-ai/training/")


def test_planning_imports_no_google_sdk() -> None:
    """`cloudgd plan --provider gcp` must stay cheap: no SDK import until a call needs one."""
    script = (
        "import sys\n"
        "from providers.gcp.provider import GcpProvider\n"
        "from gcp_helpers import fixed_ctx, make_spec\n"
        "GcpProvider().plan(make_spec(resources={'accelerator': 'A100:1'}), fixed_ctx())\n"
        "heavy = ('google.cloud.aiplatform', 'google.cloud.storage', 'google.cloud.logging',\n"
        "         'google.api_core', 'gcp_storage_emulator', 'torch')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": f"{root}:{root / 'tests' / 'providers' / 'gcp'}", "PATH": ""},
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_terraform_outputs_that_are_not_options_are_ignored() -> None:
    settings = {"gcp": {"project": PROJECT, "staging_bucket": BUCKET, "artifact_registry": "x"}}
    spec = make_spec(providers={"gcp": {}})
    assert (
        render(spec, fixed_ctx(settings=settings))
        .request["parent"]
        .startswith(f"projects/{PROJECT}/")
    )


def test_bad_user_settings_name_the_settings_file() -> None:
    settings = {"gcp": {"project": "Not A Project", "staging_bucket": BUCKET}}
    with pytest.raises(SpecError) as caught:
        render(make_spec(providers={"gcp": {}}), fixed_ctx(settings=settings))
    assert caught.value.message.startswith("user settings gcp.project:")
    assert "config.yaml" in (caught.value.hint or "")


def test_a_rehearsal_plans_without_gcp_settings_and_says_so() -> None:
    plan = render(make_spec(providers={"gcp": {}}), fixed_ctx(), rehearsal=True)
    assert plan.request["parent"] == f"projects/{REHEARSAL_PROJECT}/locations/us-central1"
    assert plan.uploads[0].destination.startswith(f"{REHEARSAL_BUCKET}/cloudgd/code/")
    assert plan.summary["rehearsal_placeholders"] is True
    assert "rehearsal_placeholders" not in render(make_spec(), fixed_ctx(), rehearsal=True).summary

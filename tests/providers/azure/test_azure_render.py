"""The Azure ML plan: what it refuses (one line naming the field) and what it decides."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from azure_helpers import WORKSPACE, make_ctx, make_spec

from cloudgd.errors import SpecError, UsageError
from providers.azure.environment import trainer_environment
from providers.azure.provider import AzureProvider
from providers.azure.render import cluster_name, render_plan
from providers.azure.scope import REHEARSAL_SUBSCRIPTION


def _refusal(**fields: Any) -> str:
    with pytest.raises(SpecError) as caught:
        render_plan(make_spec(**fields), make_ctx())
    return caught.value.message


def test_tpus_are_refused_with_an_alternative() -> None:
    with pytest.raises(SpecError) as caught:
        render_plan(make_spec(resources={"accelerator": "tpu-v5e:8"}), make_ctx())
    assert caught.value.message.startswith("resources.accelerator: Azure ML has no TPUs")
    assert "--provider gcp" in (caught.value.hint or "")


def test_instance_type_must_be_an_azure_vm_size() -> None:
    message = _refusal(resources={"accelerator": "T4:1", "instance_type": "ml.g4dn.xlarge"})
    assert message.startswith("resources.instance_type: Azure VM sizes look like")


def test_instance_type_must_carry_the_accelerator() -> None:
    message = _refusal(resources={"accelerator": "A100:8", "instance_type": "Standard_NC6s_v3"})
    assert "resources.instance_type" in message and "V100:1" in message


def test_data_outside_azure_is_refused() -> None:
    message = _refusal(
        trainer={"data": {"source": "csv", "uri": "s3://bucket/train.csv", "target": "y"}}
    )
    assert message.startswith("trainer.data.uri: Azure ML jobs read azureml://")


def test_a_data_asset_is_mounted_as_given() -> None:
    spec = make_spec(
        trainer={"data": {"source": "npz", "uri": "azureml:digits-npz:3"}},
        providers={"azure": {**WORKSPACE, "data_mode": "download"}},
    )
    request = render_plan(spec, make_ctx()).request
    assert request["inputs"]["train"] == {
        "type": "uri_folder",
        "path": "azureml:digits-npz:3",
        "mode": "download",
    }
    assert request["command"].endswith("--data-dir ${{inputs.train}}")


def test_secrets_come_only_from_key_vault_and_never_by_value() -> None:
    message = _refusal(secrets={"TOKEN": {"source": "aws-secretsmanager", "ref": "x"}})
    assert message.startswith("secrets.TOKEN: Azure ML jobs read secrets from Azure Key Vault")
    # the trainer reads the secret by its URL with the compute's identity: a name is not enough
    message = _refusal(secrets={"TOKEN": {"source": "azure-keyvault", "ref": "hf-token"}})
    assert message.startswith("secrets.TOKEN.ref: 'hf-token' is not a Key Vault secret URL")


def test_image_and_environment_are_exclusive() -> None:
    message = _refusal(
        image="registry.example/trainer:1",
        providers={"azure": {**WORKSPACE, "environment": "azureml:my-env:2"}},
    )
    assert message.startswith("image / providers.azure.environment")


def test_registered_environment_replaces_the_curated_default() -> None:
    spec = make_spec(providers={"azure": {**WORKSPACE, "environment": "azureml:my-env@latest"}})
    assert render_plan(spec, make_ctx()).request["environment"] == "azureml:my-env@latest"
    assert render_plan(make_spec(), make_ctx()).request["environment"] == trainer_environment()


def test_the_prebuilt_environment_holds_the_trainers_dependencies() -> None:
    # The curated ACPT environment alone lacks pydantic, pyyaml and scikit-learn.
    environment = render_plan(make_spec(), make_ctx()).request["environment"]
    assert environment["image"].startswith("mcr.microsoft.com/azureml/curated/acpt-pytorch-")
    python, pip, listed = environment["conda_file"]["dependencies"]
    assert (python, pip) == ("python=3.11", "pip")
    names = [line.split("==")[0].lower() for line in listed["pip"]]
    assert names == ["torch", "numpy", "pydantic", "pyyaml", "scikit-learn"]
    hf = trainer_environment("huggingface")["conda_file"]["dependencies"][2]["pip"]
    assert hf[-1] == "transformers>=4.40"


def test_several_nodes_without_ddp_are_refused() -> None:
    message = _refusal(resources={"nodes": 2}, distributed={"strategy": "none"})
    assert message.startswith("distributed.strategy: none")


def test_checkpoints_outside_azureml_are_refused() -> None:
    message = _refusal(checkpoints={"uri": "gs://bucket/ckpt/"})
    assert message.startswith("checkpoints.uri: Azure ML jobs write checkpoints")


def test_without_checkpoints_the_command_has_no_checkpoint_dir() -> None:
    plan = render_plan(make_spec(checkpoints={"enabled": False}), make_ctx())
    assert "checkpoints" not in plan.request["outputs"]
    assert "--checkpoint-dir" not in plan.request["command"]


def test_cloud_plans_need_the_workspace() -> None:
    spec = make_spec(providers={"azure": {"resource_group": "rg"}})
    with pytest.raises(SpecError) as caught:
        render_plan(spec, make_ctx())
    assert caught.value.lines() == [
        "providers.azure.subscription_id: not set",
        "providers.azure.workspace: not set",
    ]


def test_rehearsal_plans_fill_in_a_placeholder_workspace() -> None:
    spec = make_spec(providers={})
    plan = AzureProvider(backend="fake").plan(spec, make_ctx())
    assert plan.handle.startswith(f"azure://{REHEARSAL_SUBSCRIPTION}/")
    assert plan.summary["rehearsal_placeholders"] is True
    # nobody but cloudgd provisions that workspace, so cloudgd manages its cluster
    assert plan.extra_requests[0]["apply"] is True


def test_user_settings_fill_what_the_spec_leaves_out() -> None:
    spec = make_spec(providers={"azure": {"workspace": "from-spec"}})
    ctx = make_ctx(settings={"azure": {**WORKSPACE, "experiment_name": "team"}})
    plan = render_plan(spec, ctx)
    assert plan.handle.split("/")[4] == "from-spec"
    assert plan.request["experiment_name"] == "team"


def test_extra_terraform_outputs_in_user_settings_are_ignored() -> None:
    ctx = make_ctx(settings={"azure": {**WORKSPACE, "tenant_id": "t", "location": "eastus"}})
    assert render_plan(make_spec(providers={}), ctx).handle.startswith("azure://1111")


def test_bad_user_settings_name_the_field() -> None:
    with pytest.raises(SpecError) as caught:
        render_plan(make_spec(), make_ctx(settings={"azure": {"shm_size": "lots"}}))
    assert caught.value.message.startswith("user settings azure.shm_size:")


def test_a_plan_needs_the_bundle() -> None:
    with pytest.raises(UsageError):
        render_plan(make_spec(), make_ctx(bundle=None))


def test_idempotency_key_changes_the_job_name_and_is_tagged() -> None:
    first = render_plan(make_spec(), make_ctx())
    keyed = render_plan(make_spec(), make_ctx(idempotency_key="ci-run-42"))
    assert first.job_name != keyed.job_name
    assert keyed.request["tags"]["cloudgd:idempotency-key"] == "ci-run-42"
    assert render_plan(make_spec(), make_ctx()).to_json() == first.to_json()


def test_derived_cluster_names_fit_azure_rules() -> None:
    from providers.azure.options import AzureOptions

    options = AzureOptions()
    assert cluster_name(options, "Standard_NC24ads_A100_v4", False) == "cgd-nc24adsa100v4"
    long = cluster_name(options, "Standard_ND96amsr_A100_v4_extra_long", True)
    assert len(long) <= 24 and long.endswith("-lp")
    assert cluster_name(AzureOptions(compute="mine"), "Standard_D4s_v3", True) == "mine"


def test_planning_imports_no_azure_sdk() -> None:
    import subprocess

    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests/providers/azure')\n"
        "from azure_helpers import make_ctx, make_spec\n"
        "from providers.azure.provider import AzureProvider\n"
        "AzureProvider().plan(make_spec(), make_ctx())\n"
        "heavy = [m for m in ('azure.ai.ml', 'azure.identity', 'azure.core', 'torch') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

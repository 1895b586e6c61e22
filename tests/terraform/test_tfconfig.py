"""Terraform outputs → provider settings, using recorded `terraform output -json` fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tfhcl import FIXTURES

from cloudgd import tfconfig
from cloudgd.errors import SpecError, UsageError
from cloudgd.spec import JobSpec

OUTPUTS = FIXTURES / "outputs"


def recorded(cloud: str) -> dict[str, Any]:
    text = (OUTPUTS / f"{cloud}.json").read_text(encoding="utf-8")
    return tfconfig.parse_outputs(text, source=f"{cloud}.json")


def as_terraform_json(values: dict[str, Any]) -> str:
    return json.dumps(
        {k: {"sensitive": False, "type": "string", "value": v} for k, v in values.items()}
    )


def test_aws_outputs_become_the_providers_aws_block() -> None:
    outputs = recorded("aws")
    cloud = tfconfig.detect_provider(outputs, None, source="aws.json")
    block = tfconfig.block_from_outputs(outputs, cloud, source="aws.json")
    assert cloud == "aws"
    assert list(block.values) == ["role_arn", "output_uri", "checkpoint_uri", "kms_key_id"]
    assert block.values["role_arn"] == "arn:aws:iam::123456789012:role/cloudgd-sagemaker-execution"
    assert block.values["checkpoint_uri"] == "s3://cloudgd-123456789012-us-east-1/checkpoints"
    assert block.cleared == ("security_group_ids", "subnets")
    assert block.ignored == ("bucket_name", "github_actions_role_arn", "region")


def test_gcp_and_azure_outputs_become_their_blocks() -> None:
    gcp = tfconfig.block_from_outputs(recorded("gcp"), "gcp", source="gcp.json")
    assert gcp.values == {
        "project": "cloudgd-example-project",
        "location": "us-central1",
        "staging_bucket": "gs://cloudgd-example-project-cloudgd-staging",
        "service_account": "cloudgd-train@cloudgd-example-project.iam.gserviceaccount.com",
    }
    assert gcp.ignored == ("ci_service_account", "workload_identity_provider")
    # Terraform drops null outputs: the module's network output is absent, so unset.
    assert gcp.cleared == ("network",)
    azure = tfconfig.block_from_outputs(recorded("azure"), "azure", source="azure.json")
    assert azure.values == {
        "subscription_id": "00000000-1111-2222-3333-444444444444",
        "resource_group": "rg-cloudgd",
        "workspace": "mlw-cloudgd-3f2a9c",
        "compute": "gpu-cluster",
    }
    # Azure's location is a job-level region, not an AzureOptions field.
    assert "location" in azure.ignored


def test_spec_block_yaml_loads_into_a_job_spec() -> None:
    block = tfconfig.block_from_outputs(recorded("aws"), "aws", source="aws.json")
    document = yaml.safe_load(tfconfig.render_spec_block(block))
    spec = JobSpec.model_validate({"name": "digits", **document})
    assert spec.providers.aws.role_arn == block.values["role_arn"]
    assert spec.providers.aws.kms_key_id == block.values["kms_key_id"]


def test_spec_block_lists_the_fields_in_the_options_model_order() -> None:
    block = tfconfig.block_from_outputs(recorded("gcp"), "gcp", source="gcp.json")
    assert tfconfig.render_spec_block(block).splitlines()[1:] == [
        "providers:",
        "  gcp:",
        "    project: cloudgd-example-project",
        "    location: us-central1",
        "    staging_bucket: gs://cloudgd-example-project-cloudgd-staging",
        "    service_account: cloudgd-train@cloudgd-example-project.iam.gserviceaccount.com",
    ]


def test_provider_is_guessed_from_output_names_without_cloudgd_provider() -> None:
    outputs = {k: v for k, v in recorded("azure").items() if k != tfconfig.PROVIDER_OUTPUT}
    assert tfconfig.detect_provider(outputs, None, source="x") == "azure"
    outputs = {"role_arn": "arn:aws:iam::123456789012:role/r", "output_uri": "s3://bucket/x"}
    assert tfconfig.detect_provider(outputs, None, source="x") == "aws"


def test_unknown_or_contradicting_provider_is_refused() -> None:
    with pytest.raises(UsageError, match="cannot tell which provider"):
        tfconfig.detect_provider({"bucket_name": "b"}, None, source="outputs.json")
    with pytest.raises(UsageError, match="contradicts output cloudgd_provider='aws'"):
        tfconfig.detect_provider(recorded("aws"), "gcp", source="aws.json")
    with pytest.raises(UsageError, match="is not one of aws, gcp, azure"):
        tfconfig.detect_provider({tfconfig.PROVIDER_OUTPUT: "oci"}, None, source="x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", r"outputs.json: not the JSON of `terraform output -json` \(line 1"),
        ("[]", "expected a JSON object of outputs, got list"),
        ("{}", "no Terraform outputs"),
        ('{"role_arn": "arn:..."}', "output 'role_arn' has no 'value'"),
    ],
)
def test_malformed_output_files_name_the_file(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        tfconfig.parse_outputs(text, source="outputs.json")
    assert caught.value.hint


def test_invalid_output_values_are_reported_by_field() -> None:
    outputs = tfconfig.parse_outputs(
        as_terraform_json({"role_arn": "not-an-arn", "output_uri": "s3://Bad_Bucket"}),
        source="outputs.json",
    )
    with pytest.raises(SpecError) as caught:
        tfconfig.block_from_outputs(outputs, "aws", source="outputs.json")
    lines = caught.value.lines()
    assert len(lines) == 2
    assert lines[0].startswith("outputs.json: output role_arn: String should match pattern")
    assert lines[0].endswith("(got 'not-an-arn')")
    assert lines[1].startswith("outputs.json: output output_uri:")


def test_outputs_without_any_options_field_are_refused() -> None:
    with pytest.raises(UsageError, match=r"no output is a providers\.gcp field") as caught:
        tfconfig.block_from_outputs({"bucket_name": "b"}, "gcp", source="x")
    assert "staging_bucket" in (caught.value.hint or "")


def test_user_config_merge_keeps_hand_set_fields_and_drops_cleared_ones() -> None:
    existing = {
        "providers": {
            "aws": {"profile": "ml", "subnets": ["subnet-0123abcd"], "role_arn": "arn:old"},
            "gcp": {"project": "other-project"},
        }
    }
    block = tfconfig.block_from_outputs(recorded("aws"), "aws", source="aws.json")
    merged = tfconfig.merge_user_config(existing, block)
    aws = merged["providers"]["aws"]
    assert aws["profile"] == "ml"  # Terraform does not manage it
    assert "subnets" not in aws  # Terraform now says: no subnets
    assert aws["role_arn"] == block.values["role_arn"]
    assert list(aws)[:4] == ["role_arn", "output_uri", "checkpoint_uri", "kms_key_id"]
    assert merged["providers"]["gcp"] == {"project": "other-project"}
    assert existing["providers"]["aws"]["role_arn"] == "arn:old"  # input untouched


def test_a_module_output_that_became_null_is_removed_from_the_user_config() -> None:
    existing = {"providers": {"gcp": {"network": "projects/1/global/networks/old"}}}
    block = tfconfig.block_from_outputs(recorded("gcp"), "gcp", source="gcp.json")
    assert "network" not in tfconfig.merge_user_config(existing, block)["providers"]["gcp"]
    # Outputs of a root module of your own (no cloudgd_provider) clear nothing they omit.
    own = {k: v for k, v in recorded("gcp").items() if k != tfconfig.PROVIDER_OUTPUT}
    assert tfconfig.block_from_outputs(own, "gcp", source="own.json").cleared == ()


def test_module_fields_match_the_options_models() -> None:
    clouds = tfconfig.terraform_providers()
    assert list(clouds) == ["aws", "gcp", "azure"]  # the providers with a terraform/ module
    for cloud, model in clouds.items():
        assert set(tfconfig.module_fields(cloud)) <= set(model.model_fields)


def test_merging_into_a_broken_user_config_names_the_field() -> None:
    block = tfconfig.block_from_outputs(recorded("gcp"), "gcp", source="gcp.json")
    with pytest.raises(SpecError, match=r"config.yaml: providers.gcp.boot_disk_gb"):
        tfconfig.merge_user_config(
            {"providers": {"gcp": {"boot_disk_gb": 1}}}, block, source="config.yaml"
        )


def test_load_user_settings_returns_only_the_fields_the_file_sets(cloudgd_home: Path) -> None:
    assert tfconfig.load_user_settings() == {}
    block = tfconfig.block_from_outputs(recorded("azure"), "azure", source="azure.json")
    text = tfconfig.render_user_config(tfconfig.merge_user_config(None, block))
    cloudgd_home.mkdir()
    (cloudgd_home / "config.yaml").write_text(text, encoding="utf-8")
    assert tfconfig.user_config_path() == cloudgd_home / "config.yaml"
    assert tfconfig.load_user_settings() == {"azure": block.values}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("providers: [1, 2]\n", "providers"),
        ("providers:\n  aws:\n    role: x\n", r"providers.aws.role: Extra inputs"),
        ("providers:\n  oci: {}\n", "providers.oci"),
        ("providers: {aws: [\n", r"not valid YAML \(line"),
        ("- a\n", "expected a mapping"),
    ],
)
def test_broken_user_config_is_a_spec_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        tfconfig.load_user_settings(path)


def test_user_settings_fill_only_what_the_spec_leaves_unset() -> None:
    spec = JobSpec.model_validate(
        {
            "name": "digits",
            "providers": {"aws": {"output_uri": "s3://my-own-bucket/runs"}},
        }
    )
    settings = {
        "aws": {
            "role_arn": "arn:aws:iam::123456789012:role/from-terraform",
            "output_uri": "s3://terraform-bucket/outputs",
        },
        "gcp": {"project": "from-terraform"},
    }
    filled = tfconfig.apply_user_settings(spec, settings)
    assert filled.providers.aws.role_arn == "arn:aws:iam::123456789012:role/from-terraform"
    assert filled.providers.aws.output_uri == "s3://my-own-bucket/runs"  # the spec wins
    assert filled.providers.gcp.project == "from-terraform"
    assert spec.providers.aws.role_arn is None  # frozen input untouched
    assert tfconfig.apply_user_settings(spec, {}) is spec

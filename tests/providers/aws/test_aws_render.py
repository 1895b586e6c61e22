"""Planning rules that are easier to read as single examples than as golden files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from aws_helpers import FIXED_BUNDLE, OUTPUT, make_ctx, make_spec

from cloudgd.errors import BudgetError, SpecError, UsageError
from providers.aws import script_mode
from providers.aws.render import REHEARSAL_ROLE, render_plan


def test_same_inputs_give_byte_identical_plans() -> None:
    spec = make_spec(resources={"accelerator": "A10G:1"})
    assert render_plan(spec, make_ctx()).to_json() == render_plan(spec, make_ctx()).to_json()


def test_idempotency_key_changes_the_job_name_and_is_tagged() -> None:
    spec = make_spec()
    plain = render_plan(spec, make_ctx())
    keyed = render_plan(spec, make_ctx(idempotency_key="sha/abc#1"))
    assert plain.job_name != keyed.job_name
    tags = {t["Key"]: t["Value"] for t in keyed.request["Tags"]}
    assert tags["cloudgd:idempotency-key"] == "sha/abc-1"


def test_handle_and_upload_destination() -> None:
    plan = render_plan(make_spec(resources={"region": "eu-west-1"}), make_ctx())
    assert plan.handle == f"aws://eu-west-1/{plan.job_name}"
    assert plan.uploads[0].destination == f"{OUTPUT}/cloudgd/code/{FIXED_BUNDLE.filename}"
    assert plan.operation == "sagemaker:CreateTrainingJob"


def test_tpus_are_refused_with_an_alternative() -> None:
    with pytest.raises(SpecError) as err:
        render_plan(make_spec(resources={"accelerator": "tpu-v5e:8"}), make_ctx())
    assert "resources.accelerator" in err.value.message
    assert "Trainium" in (err.value.hint or "")
    assert "GPU" in (err.value.hint or "")


def test_instance_type_must_be_a_sagemaker_type() -> None:
    with pytest.raises(SpecError, match=r"start with 'ml\.'") as err:
        render_plan(make_spec(resources={"instance_type": "g5.xlarge"}), make_ctx())
    assert err.value.hint == "use ml.g5.xlarge"


def test_instance_type_must_carry_the_accelerator() -> None:
    spec = make_spec(resources={"accelerator": "A100:8", "instance_type": "ml.g5.xlarge"})
    with pytest.raises(SpecError, match=r"resources\.instance_type"):
        render_plan(spec, make_ctx())


def test_missing_role_is_an_error_for_the_cloud_but_a_placeholder_in_rehearsal() -> None:
    spec = make_spec(providers={})
    with pytest.raises(SpecError, match=r"providers\.aws\.role_arn"):
        render_plan(spec, make_ctx())
    plan = render_plan(spec, make_ctx(), rehearsal=True)
    assert plan.request["RoleArn"] == REHEARSAL_ROLE
    assert plan.summary["rehearsal_placeholders"] is True


def test_user_settings_fill_in_what_the_spec_leaves_out() -> None:
    settings = {
        "aws": {
            "role_arn": "arn:aws:iam::210987654321:role/from-tf",
            "volume_size_gb": 99,
            "bucket_name": "an-output-the-spec-block-does-not-have",
        }
    }
    spec = make_spec(providers={"aws": {"output_uri": "s3://spec-bucket"}})
    plan = render_plan(spec, make_ctx(settings=settings))
    assert plan.request["RoleArn"] == "arn:aws:iam::210987654321:role/from-tf"
    assert plan.request["OutputDataConfig"]["S3OutputPath"] == "s3://spec-bucket/"
    assert plan.request["ResourceConfig"]["VolumeSizeInGB"] == 99


def test_invalid_user_settings_name_the_settings_file() -> None:
    settings = {"aws": {"role_arn": "not-an-arn"}}
    with pytest.raises(SpecError, match=r"user settings aws\.role_arn"):
        render_plan(make_spec(providers={}), make_ctx(settings=settings))


def test_plan_without_a_bundle_says_how_to_get_one() -> None:
    with pytest.raises(UsageError, match="code bundle"):
        render_plan(make_spec(), make_ctx(bundle=None))


def test_data_must_be_on_s3() -> None:
    trainer = {"data": {"source": "csv", "uri": "gs://bucket/train.csv"}}
    with pytest.raises(SpecError, match=r"trainer\.data\.uri"):
        render_plan(make_spec(trainer=trainer), make_ctx())


def test_secrets_travel_as_references_never_values() -> None:
    spec = make_spec(secrets={"API_KEY": {"source": "aws-secretsmanager", "ref": "prod/key"}})
    env = render_plan(spec, make_ctx()).request["Environment"]
    assert env == {"CLOUDGD_SECRET_API_KEY": "prod/key"}
    local = make_spec(secrets={"API_KEY": {"source": "env", "ref": "MY_KEY"}})
    with pytest.raises(SpecError, match=r"secrets\.API_KEY"):
        render_plan(local, make_ctx())


def test_reserved_and_invalid_tags_are_refused() -> None:
    with pytest.raises(SpecError, match="reserved"):
        render_plan(make_spec(tags={"aws:owner": "me"}), make_ctx())
    with pytest.raises(SpecError, match=r"tags\.team"):
        render_plan(make_spec(tags={"team": "ml#1"}), make_ctx())


def test_vpc_needs_subnets_and_security_groups() -> None:
    aws = {"role_arn": REHEARSAL_ROLE, "output_uri": "s3://b-1", "subnets": ["subnet-1"]}
    with pytest.raises(SpecError, match="VPC needs both"):
        render_plan(make_spec(providers={"aws": aws}), make_ctx())


def test_several_nodes_without_ddp_is_refused() -> None:
    spec = make_spec(resources={"nodes": 2}, distributed={"strategy": "none"})
    with pytest.raises(SpecError, match=r"distributed\.strategy"):
        render_plan(spec, make_ctx())


def test_explicit_processes_per_node_reaches_the_toolkit() -> None:
    spec = make_spec(resources={"accelerator": "A10G:4"}, distributed={"processes_per_node": 2})
    hps = render_plan(spec, make_ctx()).request["HyperParameters"]
    assert hps["sagemaker_mpi_num_of_processes_per_host"] == "2"


def test_single_process_job_does_not_start_torchrun() -> None:
    hps = render_plan(make_spec(), make_ctx()).request["HyperParameters"]
    assert "sagemaker_torch_distributed_enabled" not in hps


def test_budget_that_buys_nothing_is_refused() -> None:
    # $0.0001 buys 0.26 s of ml.g5.xlarge at its $1.408/h training rate
    spec = make_spec(resources={"accelerator": "A10G:1"}, limits={"max_cost_usd": 0.0001})
    with pytest.raises(BudgetError):
        render_plan(spec, make_ctx())


def test_plan_imports_no_cloud_sdk() -> None:
    code = (
        "import sys\n"
        "from aws_helpers import make_spec, make_ctx\n"
        "from providers.aws.provider import AwsProvider\n"
        "AwsProvider().plan(make_spec(), make_ctx())\n"
        "bad = [m for m in ('boto3', 'botocore', 'sagemaker', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    here = str(Path(__file__).resolve().parent)
    root = str(Path(__file__).resolve().parents[3])
    env = {"PYTHONPATH": f"{root}:{here}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


SAMPLE_LINES = {
    "epoch=1 step=40 loss=0.3125 lr=0.001 grad_norm=1.2": {"loss": "0.3125"},
    "epoch=1 val_loss=0.2871 val_accuracy=0.9611": {"val_loss": "0.2871", "val_accuracy": "0.9611"},
    "step=7 loss=1.5e-03": {"loss": "1.5e-03"},
    "epoch=3 val_mse=12.5 val_r2=-0.25": {"val_mse": "12.5", "val_r2": "-0.25"},
}


@pytest.mark.parametrize(("line", "expected"), SAMPLE_LINES.items())
def test_metric_regexes_pick_the_right_numbers(line: str, expected: dict[str, str]) -> None:
    found = {}
    for definition in script_mode.metric_definitions():
        match = re.search(definition["Regex"], line)
        if match:
            found[definition["Name"]] = match.group(1)
    assert found == expected


def test_hyperparameter_limits_are_enforced() -> None:
    with pytest.raises(SpecError, match="at most 100"):
        script_mode.encode({f"k{i}": i for i in range(101)})
    with pytest.raises(SpecError, match="2500"):
        script_mode.encode({"optimizer.name": "x" * 2600})
    assert script_mode.encode({"optimizer.lr": 0.01}) == {"optimizer.lr": "0.01"}

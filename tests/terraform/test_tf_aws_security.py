"""Security settings of terraform/modules/aws-sagemaker, read from the HCL itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tfhcl import (
    MODULES,
    Module,
    attr,
    block,
    blocks,
    checkov_skips,
    has,
    load_module,
    squash,
)

BUCKET = "${aws_s3_bucket.this.arn}"

# Actions AWS offers no resource-level permissions for: the only ones allowed "*".
UNSCOPABLE_ACTIONS = {
    "cloudwatch:PutMetricData",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ecr:GetAuthorizationToken",
    "sagemaker:ListHyperParameterTuningJobs",
    "sagemaker:ListTrainingJobs",
}

# What identity policies may name as resources: the bucket, the key, SageMaker's log
# group, the pullable image repositories, the execution role and this account's jobs
# (training and tuning).
SCOPED_RESOURCE_PREFIXES = (
    BUCKET,
    "${local.kms_key_arn}",
    "${local.log_group_arn}",
    "${local.ecr_pull_repository_arns}",
    "${aws_iam_role.sagemaker.arn}",
    "${local.training_job_arn_prefix}",
    "${local.tuning_job_arn_prefix}",
)


@pytest.fixture(scope="module")
def aws() -> Module:
    return load_module(MODULES / "aws-sagemaker")


def statements(module: Module, document: str) -> list[dict[str, Any]]:
    return blocks(module.data[("aws_iam_policy_document", document)], "statement")


def effect(statement: dict[str, Any]) -> str:
    return attr(statement, "effect") if has(statement, "effect") else "Allow"


def identity_policies(module: Module) -> list[str]:
    """Policy documents attached to roles (not trust, bucket or key policies)."""
    return [
        attr(body, "policy").removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
        for body in module.of_type("aws_iam_role_policy").values()
    ]


def test_bucket_is_encrypted_with_the_module_kms_key(aws: Module) -> None:
    sse = aws.resource("aws_s3_bucket_server_side_encryption_configuration", "this")
    rule = block(sse, "rule")
    default = block(rule, "apply_server_side_encryption_by_default")
    assert attr(default, "sse_algorithm") == "aws:kms"
    assert attr(default, "kms_master_key_id") == "${local.kms_key_arn}"
    assert attr(rule, "bucket_key_enabled") is True


def test_created_kms_key_rotates_and_only_the_account_administers_it(aws: Module) -> None:
    key = aws.resource("aws_kms_key", "this")
    assert attr(key, "enable_key_rotation") is True
    assert attr(key, "policy") == "${data.aws_iam_policy_document.kms.json}"
    (statement,) = statements(aws, "kms")
    principal = block(statement, "principals")
    assert attr(principal, "type") == "AWS"
    assert attr(principal, "identifiers") == [
        "arn:${local.partition}:iam::${local.account_id}:root"
    ]
    assert not [a for a in attr(statement, "actions") if "*" in a]


def test_bucket_is_versioned_and_never_public(aws: Module) -> None:
    versioning = aws.resource("aws_s3_bucket_versioning", "this")
    assert attr(block(versioning, "versioning_configuration"), "status") == "Enabled"
    public_access = aws.resource("aws_s3_bucket_public_access_block", "this")
    for setting in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert attr(public_access, setting) is True, setting
    ownership = aws.resource("aws_s3_bucket_ownership_controls", "this")
    assert attr(block(ownership, "rule"), "object_ownership") == "BucketOwnerEnforced"


def test_bucket_policy_refuses_plain_http(aws: Module) -> None:
    (deny,) = statements(aws, "bucket")
    assert effect(deny) == "Deny"
    condition = block(deny, "condition")
    assert attr(condition, "variable") == "aws:SecureTransport"
    assert attr(condition, "values") == ["false"]


def test_old_checkpoints_and_versions_expire(aws: Module) -> None:
    lifecycle = aws.resource("aws_s3_bucket_lifecycle_configuration", "this")
    rules = {attr(rule, "id"): rule for rule in blocks(lifecycle, "rule")}
    checkpoints = rules["expire-old-checkpoints"]
    assert attr(block(checkpoints, "filter"), "prefix") == "${local.checkpoint_prefix}"
    assert attr(block(checkpoints, "expiration"), "days") == "${var.checkpoint_retention_days}"
    assert aws.local("checkpoint_prefix") == "checkpoints/"
    noncurrent = rules["expire-noncurrent-versions"]
    assert has(noncurrent, "noncurrent_version_expiration")
    assert has(noncurrent, "abort_incomplete_multipart_upload")
    # The checkpoint_uri output points inside the expiring prefix.
    assert "local.checkpoint_prefix" in attr(aws.outputs["checkpoint_uri"], "value")


def test_no_identity_policy_allows_a_wildcard_action(aws: Module) -> None:
    documents = identity_policies(aws)
    assert set(documents) == {"sagemaker", "sagemaker_vpc", "sagemaker_secrets", "github"}
    for document in documents:
        for statement in statements(aws, document):
            assert effect(statement) == "Allow"
            wildcards = [a for a in attr(statement, "actions") if "*" in a]
            assert not wildcards, f"{document}/{attr(statement, 'sid')}: {wildcards}"


def test_identity_policy_resources_are_scoped(aws: Module) -> None:
    for document in ("sagemaker", "github"):
        for statement in statements(aws, document):
            sid = attr(statement, "sid")
            resources = attr(statement, "resources")
            if isinstance(resources, str):  # one expression, e.g. a local list
                resources = [resources]
            if resources == ["*"]:
                assert set(attr(statement, "actions")) <= UNSCOPABLE_ACTIONS, sid
                continue
            for resource in resources:
                assert resource.startswith(SCOPED_RESOURCE_PREFIXES), f"{sid}: {resource}"


def test_vpc_permissions_name_only_network_interfaces_subnets_and_groups(aws: Module) -> None:
    create, describe = statements(aws, "sagemaker_vpc")
    expression = attr(create, "resources")
    arns = re.findall(r"arn:[^\"']+", expression)
    assert len(arns) == 3
    for arn in arns:
        assert arn.startswith("arn:${local.partition}:ec2:${local.region}:${local.account_id}:")
    kinds = {arn.split(":")[-1].split("/")[0] for arn in arns}
    assert kinds == {"network-interface", "subnet", "security-group"}
    assert attr(describe, "resources") == ["*"]
    assert set(attr(describe, "actions")) <= UNSCOPABLE_ACTIONS
    vpc_policy = aws.resource("aws_iam_role_policy", "sagemaker_vpc")
    assert attr(vpc_policy, "count") == "${length(var.subnet_ids) > 0 ? 1 : 0}"


def test_logs_are_only_sagemakers_training_log_group(aws: Module) -> None:
    assert aws.local("log_group_arn").endswith(":log-group:/aws/sagemaker/TrainingJobs")


def test_image_pulls_are_limited_to_named_repositories(aws: Module) -> None:
    repositories = aws.local("ecr_pull_repository_arns")
    assert ":repository/${pair[1]}" in repositories
    assert "aws_ecr_repository.this[*].arn" in repositories
    default = attr(aws.variables["prebuilt_image_repositories"], "default")
    assert default == ["pytorch-training", "huggingface-pytorch-training"]


def test_sagemaker_trust_is_limited_to_this_account(aws: Module) -> None:
    (trust,) = statements(aws, "sagemaker_trust")
    assert attr(block(trust, "principals"), "identifiers") == ["sagemaker.amazonaws.com"]
    condition = block(trust, "condition")
    assert attr(condition, "variable") == "aws:SourceAccount"
    assert attr(condition, "values") == ["${local.account_id}"]


def test_github_role_trusts_one_repository_by_exact_subject(aws: Module) -> None:
    (trust,) = statements(aws, "github_trust")
    assert attr(trust, "actions") == ["sts:AssumeRoleWithWebIdentity"]
    conditions = {attr(c, "variable"): c for c in blocks(trust, "condition")}
    audience = conditions["token.actions.githubusercontent.com:aud"]
    assert attr(audience, "values") == ["sts.amazonaws.com"]
    subject = conditions["token.actions.githubusercontent.com:sub"]
    assert attr(subject, "test") == "StringEquals"
    assert attr(subject, "values") == "${local.github_subjects}"
    assert "refs/heads/main" in aws.local("github_subjects")
    assert attr(aws.resource("aws_iam_role", "github"), "count") == (
        "${local.github_enabled ? 1 : 0}"
    )


def test_github_subjects_must_name_the_configured_repository_first(aws: Module) -> None:
    """Why CKV_AWS_358 is skipped: checkov reads only literal `values`, these are checked here.

    The check wants the repo claim first, with an owner/name value, and no wildcard.
    """
    assert "local.github_subjects" in checkov_skips(MODULES / "aws-sagemaker")["CKV_AWS_358"]
    repository = 'repo:${coalesce(var.github_repository,"-/-")}:'
    role = aws.resource("aws_iam_role", "github")
    (precondition,) = blocks(block(role, "lifecycle"), "precondition")
    assert squash(attr(precondition, "condition")) == squash(
        f'${{alltrue([for s in local.github_subjects : startswith(s, "{repository}")])}}'
    )
    assert f"{repository}ref:refs/heads/main" in squash(aws.local("github_subjects"))
    (validation,) = blocks(aws.variables["github_subjects"], "validation")
    assert squash(attr(validation, "condition")) == squash(
        "${alltrue([for s in var.github_subjects : "
        'startswith(s, "repo:") && !strcontains(s, "*")])}'
    )
    owner_and_name = attr(block(aws.variables["github_repository"], "validation"), "condition")
    assert "[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$" in owner_and_name


def test_github_role_may_only_submit_and_read_jobs(aws: Module) -> None:
    sagemaker_actions = {
        action
        for statement in statements(aws, "github")
        for action in attr(statement, "actions")
        if action.startswith("sagemaker:")
    }
    assert sagemaker_actions == {
        "sagemaker:AddTags",
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:ListTags",
        "sagemaker:ListTrainingJobs",
        # `cloudgd tune`: create, follow and list tuning jobs (never stop or delete)
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        "sagemaker:ListHyperParameterTuningJobs",
    }
    by_sid = {attr(s, "sid"): s for s in statements(aws, "github")}
    tuning = by_sid["SubmitAndReadTuningJobs"]
    assert attr(tuning, "resources") == ["${local.tuning_job_arn_prefix}*"]
    pass_role = by_sid["PassExecutionRoleToSageMaker"]
    assert attr(pass_role, "resources") == ["${aws_iam_role.sagemaker.arn}"]
    assert attr(block(pass_role, "condition"), "values") == ["sagemaker.amazonaws.com"]
    upload = by_sid["UploadBundlesUnderOutputs"]
    assert attr(upload, "resources") == [f"{BUCKET}/${{local.output_prefix}}*"]
    writes = {
        action
        for statement in statements(aws, "github")
        for action in attr(statement, "actions")
        if action.startswith("s3:") and ("Put" in action or "Delete" in action)
    }
    assert writes == {"s3:PutObject"}


def test_jobs_may_read_exactly_the_secrets_named_and_only_when_some_are(aws: Module) -> None:
    (read,) = statements(aws, "sagemaker_secrets")
    assert attr(read, "actions") == ["secretsmanager:GetSecretValue"]
    assert attr(read, "resources") == "${var.secret_arns}"
    policy = aws.resource("aws_iam_role_policy", "sagemaker_secrets")
    assert attr(policy, "count") == "${length(var.secret_arns) > 0 ? 1 : 0}"
    assert attr(aws.variables["secret_arns"], "default") == []

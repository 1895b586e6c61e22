"""Security settings of terraform/modules/gcp-vertex, read from the HCL itself."""

from __future__ import annotations

import pytest
from tfhcl import MODULES, Module, attr, block, blocks, checkov_skips, has, load_module, squash

TRAINING_SA = "${google_service_account.training.member}"
CI_SA = "${google_service_account.ci[0].member}"
IAM_MEMBER_TYPES = (
    "google_project_iam_member",
    "google_storage_bucket_iam_member",
    "google_service_account_iam_member",
    "google_artifact_registry_repository_iam_member",
    "google_secret_manager_secret_iam_member",
)


@pytest.fixture(scope="module")
def gcp() -> Module:
    return load_module(MODULES / "gcp-vertex")


def grants(module: Module) -> list[tuple[str, str, str, str]]:
    """(resource type, name, role, member) of every IAM grant in the module."""
    return [
        (type_, name, attr(body, "role"), attr(body, "member"))
        for (type_, name), body in module.resources.items()
        if type_ in IAM_MEMBER_TYPES
    ]


def test_staging_bucket_has_uniform_access_and_no_public_access(gcp: Module) -> None:
    bucket = gcp.resource("google_storage_bucket", "staging")
    assert attr(bucket, "uniform_bucket_level_access") is True
    assert attr(bucket, "public_access_prevention") == "enforced"
    assert attr(blocks(bucket, "versioning")[0], "enabled") is True


def test_old_checkpoints_and_versions_are_deleted(gcp: Module) -> None:
    bucket = gcp.resource("google_storage_bucket", "staging")
    rules = [
        (attr(blocks(rule, "action")[0], "type"), blocks(rule, "condition")[0])
        for rule in blocks(bucket, "lifecycle_rule")
    ]
    prefixes = [
        attr(condition, "matches_prefix")
        for kind, condition in rules
        if kind == "Delete" and has(condition, "matches_prefix")
    ]
    assert prefixes == [["${local.checkpoint_prefix}"]]
    assert gcp.local("checkpoint_prefix") == "checkpoints/"
    assert any(
        kind == "Delete" and has(condition, "days_since_noncurrent_time")
        for kind, condition in rules
    )
    assert "AbortIncompleteMultipartUpload" in [kind for kind, _ in rules]


def test_no_grant_to_the_public_or_basic_roles(gcp: Module) -> None:
    for type_, name, role, member in grants(gcp):
        assert "allUsers" not in member and "allAuthenticatedUsers" not in member, name
        assert role not in {"roles/owner", "roles/editor", "roles/viewer"}, f"{type_}.{name}"


def test_training_service_account_has_minimal_roles(gcp: Module) -> None:
    training = {(type_, role) for type_, _, role, member in grants(gcp) if member == TRAINING_SA}
    assert training == {
        ("google_storage_bucket_iam_member", "roles/storage.objectUser"),
        ("google_storage_bucket_iam_member", "roles/storage.legacyBucketReader"),
        ("google_project_iam_member", "roles/logging.logWriter"),
        ("google_artifact_registry_repository_iam_member", "roles/artifactregistry.reader"),
        ("google_secret_manager_secret_iam_member", "roles/secretmanager.secretAccessor"),
    }
    # secrets: accessor on exactly the secrets named in secret_ids, none by default
    reads = gcp.resource("google_secret_manager_secret_iam_member", "training_reads_secrets")
    assert attr(reads, "for_each") == "${toset(var.secret_ids)}"
    assert attr(reads, "secret_id") == "${each.value}"
    assert attr(gcp.variables["secret_ids"], "default") == []
    for name in ("training_objects", "training_bucket_metadata"):
        grant = gcp.resource("google_storage_bucket_iam_member", name)
        assert attr(grant, "bucket") == "${google_storage_bucket.staging.name}"


def test_required_apis_are_enabled_and_left_on_at_destroy(gcp: Module) -> None:
    services = gcp.local("services")
    for api in ("aiplatform", "storage", "iam", "logging"):
        assert f"{api}.googleapis.com" in services
    service = gcp.resource("google_project_service", "this")
    assert attr(service, "disable_on_destroy") is False


def test_workload_identity_admits_one_repository_and_ref(gcp: Module) -> None:
    provider = gcp.resource("google_iam_workload_identity_pool_provider", "github")
    condition = attr(provider, "attribute_condition")
    assert condition == (
        "assertion.repository == '${local.github_repository}'"
        " && assertion.ref == '${var.github_ref}'"
    )
    assert attr(blocks(provider, "oidc")[0], "issuer_uri") == (
        "https://token.actions.githubusercontent.com"
    )
    binding = gcp.resource("google_service_account_iam_member", "ci_workload_identity")
    assert attr(binding, "role") == "roles/iam.workloadIdentityUser"
    assert attr(binding, "member").endswith("/attribute.repository/${local.github_repository}")
    assert attr(gcp.variables["github_ref"], "default") == "refs/heads/main"


def test_attribute_condition_cannot_be_widened_by_its_inputs(gcp: Module) -> None:
    """Why CKV_GCP_125 is skipped: the check looks only for `assertion.sub == '...'`.

    The condition above pins the repository and ref claims instead (the parts a branch
    job's sub claim is made of); neither input can close the quotes and add an `||`.
    """
    assert "assertion.repository" in checkov_skips(MODULES / "gcp-vertex")["CKV_GCP_125"]
    provider = gcp.resource("google_iam_workload_identity_pool_provider", "github")
    assert attr(provider, "attribute_mapping")["google.subject"] == "assertion.sub"
    repository = attr(block(gcp.variables["github_repository"], "validation"), "condition")
    assert "^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$" in repository
    ref = attr(block(gcp.variables["github_ref"], "validation"), "condition")
    assert squash('!strcontains(var.github_ref, "\'")') in squash(ref)


def test_ci_account_may_only_submit_and_read_jobs(gcp: Module) -> None:
    role = gcp.resource("google_project_iam_custom_role", "job_submitter")
    assert attr(role, "permissions") == [
        "aiplatform.customJobs.create",
        "aiplatform.customJobs.get",
        "aiplatform.customJobs.list",
        "aiplatform.hyperparameterTuningJobs.create",
        "aiplatform.hyperparameterTuningJobs.get",
        "aiplatform.hyperparameterTuningJobs.list",
        "logging.logEntries.list",
    ]
    ci = {(type_, role) for type_, _, role, member in grants(gcp) if member == CI_SA}
    assert ci == {
        ("google_project_iam_member", "${google_project_iam_custom_role.job_submitter[0].name}"),
        ("google_service_account_iam_member", "roles/iam.serviceAccountUser"),
        ("google_storage_bucket_iam_member", "roles/storage.objectCreator"),
        ("google_storage_bucket_iam_member", "roles/storage.objectViewer"),
    }
    # actAs is granted on the training account alone, not project-wide.
    act_as = gcp.resource("google_service_account_iam_member", "ci_acts_as_training")
    assert attr(act_as, "service_account_id") == "${google_service_account.training.name}"

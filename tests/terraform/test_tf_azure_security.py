"""Workspace, autoscaling and access settings of terraform/modules/azure-ml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tfhcl import EXAMPLES, MODULES, Module, attr, block, checkov_skips, load_module


@pytest.fixture(scope="module")
def azure() -> Module:
    return load_module(MODULES / "azure-ml")


def test_workspace_has_its_storage_key_vault_and_application_insights(azure: Module) -> None:
    workspace = azure.resource("azurerm_machine_learning_workspace", "this")
    assert attr(workspace, "storage_account_id") == "${azurerm_storage_account.this.id}"
    assert attr(workspace, "key_vault_id") == "${azurerm_key_vault.this.id}"
    assert attr(workspace, "application_insights_id") == "${azurerm_application_insights.this.id}"
    assert attr(block(workspace, "identity"), "type") == "SystemAssigned"
    insights = azure.resource("azurerm_application_insights", "this")
    assert attr(insights, "workspace_id") == "${azurerm_log_analytics_workspace.this.id}"


def test_storage_is_https_only_private_and_versioned(azure: Module) -> None:
    storage = azure.resource("azurerm_storage_account", "this")
    assert attr(storage, "min_tls_version") == "TLS1_2"
    assert attr(storage, "https_traffic_only_enabled") is True
    assert attr(storage, "allow_nested_items_to_be_public") is False
    assert attr(storage, "infrastructure_encryption_enabled") is True
    assert attr(block(storage, "blob_properties"), "versioning_enabled") is True


def test_workspace_and_its_storage_refuse_public_networks_unless_asked(azure: Module) -> None:
    option = "${var.public_network_access_enabled}"
    workspace = azure.resource("azurerm_machine_learning_workspace", "this")
    assert attr(workspace, "public_network_access_enabled") == option
    storage = azure.resource("azurerm_storage_account", "this")
    assert attr(storage, "public_network_access_enabled") == option
    assert attr(azure.variables["public_network_access_enabled"], "default") is False
    # The example root passes the choice through, private unless -var says otherwise.
    example = load_module(EXAMPLES / "azure")
    assert attr(example.variables["public_network_access_enabled"], "default") is False
    (call,) = example.modules.values()
    assert attr(call, "public_network_access_enabled") == option
    # ... and Terraform reaches a private storage account through Resource Manager only.
    features = block(example.providers["azurerm"], "features")
    assert attr(block(features, "storage"), "data_plane_available") is False
    assert not {"CKV_AZURE_59", "CKV_AZURE_144"} & set(checkov_skips(MODULES / "azure-ml"))


def test_registry_serves_layers_from_its_own_data_endpoint(azure: Module) -> None:
    registry = azure.resource("azurerm_container_registry", "this")
    assert attr(registry, "sku") == "Premium"  # dedicated data endpoints need Premium
    assert attr(registry, "data_endpoint_enabled") is True
    assert attr(registry, "retention_policy_in_days") == 7


def test_key_vault_is_recoverable_and_uses_rbac(azure: Module) -> None:
    vault = azure.resource("azurerm_key_vault", "this")
    assert attr(vault, "purge_protection_enabled") is True
    assert attr(vault, "enable_rbac_authorization") is True


def test_cluster_scales_to_zero_after_idle_time(azure: Module) -> None:
    cluster = azure.resource("azurerm_machine_learning_compute_cluster", "this")
    scale = block(cluster, "scale_settings")
    assert attr(scale, "min_node_count") == "${var.compute_min_nodes}"
    assert attr(scale, "max_node_count") == "${var.compute_max_nodes}"
    assert attr(scale, "scale_down_nodes_after_idle_duration") == "${local.idle_before_scaling}"
    assert attr(azure.variables["compute_min_nodes"], "default") == 0
    assert attr(azure.variables["compute_idle_minutes"], "default") == 10
    assert "LowPriority" in attr(cluster, "vm_priority")
    assert attr(azure.variables["compute_low_priority"], "default") is False
    assert attr(cluster, "local_auth_enabled") is False
    assert attr(cluster, "ssh_public_access_enabled") is False


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform binary not installed")
@pytest.mark.parametrize(
    ("minutes", "duration"),
    [(10, "PT10M"), (60, "PT1H"), (90, "PT1H30M"), (1441, "PT24H1M")],
)
def test_idle_time_is_written_the_way_azure_returns_it(
    minutes: int, duration: str, tmp_path: Path
) -> None:
    """Evaluates the module's own locals with `terraform console` (needs no provider)."""
    source = (MODULES / "azure-ml" / "compute.tf").read_text(encoding="utf-8")
    locals_block = re.search(r"^locals \{.*?^\}", source, re.S | re.M)
    assert locals_block is not None
    (tmp_path / "main.tf").write_text(
        'variable "compute_idle_minutes" {\n  type = number\n}\n\n' + locals_block.group(0)
    )
    result = subprocess.run(
        ["terraform", "console", f"-var=compute_idle_minutes={minutes}"],
        input="local.idle_before_scaling\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TF_DATA_DIR": str(tmp_path / ".terraform")},
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == f'"{duration}"'


def test_federated_credential_trusts_one_github_subject(azure: Module) -> None:
    credential = azure.resource("azurerm_federated_identity_credential", "github")
    assert attr(credential, "issuer") == "https://token.actions.githubusercontent.com"
    assert attr(credential, "audience") == ["api://AzureADTokenExchange"]
    assert attr(credential, "subject") == "${local.github_subject}"
    assert ":ref:refs/heads/main" in azure.local("github_subject")


def test_ci_role_submits_and_reads_jobs_in_the_workspace_only(azure: Module) -> None:
    actions = azure.local("ci_base_actions")
    assert all(a.startswith("Microsoft.MachineLearningServices/workspaces/") for a in actions)
    assert not [a for a in actions if "*" in a or a.endswith("/delete")]
    assert not [a for a in actions if "/computes/" in a and not a.endswith("/read")]
    assert not [a for a in actions if "listsecrets" in a.lower() or "listkeys" in a.lower()]
    assert "Microsoft.MachineLearningServices/workspaces/jobs/write" in actions
    assignment = azure.resource("azurerm_role_assignment", "ci_job_submitter")
    assert attr(assignment, "scope") == "${azurerm_machine_learning_workspace.this.id}"
    role = azure.resource("azurerm_role_definition", "job_submitter")
    assert attr(role, "assignable_scopes") == ["${local.resource_group_id}"]


def test_the_cluster_reads_key_vault_secrets_only_when_asked(azure: Module) -> None:
    grant = azure.resource("azurerm_role_assignment", "compute_key_vault_secrets")
    assert attr(grant, "count") == "${var.compute_reads_key_vault_secrets ? 1 : 0}"
    assert attr(grant, "scope") == "${azurerm_key_vault.this.id}"
    assert attr(grant, "role_definition_name") == "Key Vault Secrets User"  # read, not manage
    assert attr(azure.variables["compute_reads_key_vault_secrets"], "default") is False

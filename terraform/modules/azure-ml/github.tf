# Optional federated credential for GitHub Actions: a user-assigned identity that
# workflows of one repository and branch log in as (azure/login with client-id, no
# secret), allowed to submit and read jobs in this workspace only.

locals {
  github_enabled = var.github_repository != null
  github_subject = coalesce(var.github_subject, "repo:${coalesce(var.github_repository, "-/-")}:ref:refs/heads/main")

  # What submitting and following a command job with the Azure ML SDK needs: read the
  # workspace, cluster and environments, register the code snapshot, create and read
  # jobs and their logs. No delete, no compute changes, no secrets.
  ci_base_actions = [
    "Microsoft.MachineLearningServices/workspaces/read",
    "Microsoft.MachineLearningServices/workspaces/computes/read",
    "Microsoft.MachineLearningServices/workspaces/datastores/read",
    "Microsoft.MachineLearningServices/workspaces/environments/read",
    "Microsoft.MachineLearningServices/workspaces/environments/versions/read",
    "Microsoft.MachineLearningServices/workspaces/codes/read",
    "Microsoft.MachineLearningServices/workspaces/codes/write",
    "Microsoft.MachineLearningServices/workspaces/codes/versions/read",
    "Microsoft.MachineLearningServices/workspaces/codes/versions/write",
    "Microsoft.MachineLearningServices/workspaces/jobs/read",
    "Microsoft.MachineLearningServices/workspaces/jobs/write",
    "Microsoft.MachineLearningServices/workspaces/experiments/runs/read",
    "Microsoft.MachineLearningServices/workspaces/experiments/runs/submit/action",
    "Microsoft.MachineLearningServices/workspaces/metadata/artifacts/read",
  ]
  ci_actions = concat(local.ci_base_actions, var.ci_extra_actions)
}

resource "azurerm_user_assigned_identity" "github" {
  count = local.github_enabled ? 1 : 0

  name                = "id-${var.name}-github"
  resource_group_name = local.resource_group_name
  location            = var.location
  tags                = local.tags

  depends_on = [azurerm_resource_group.this]
}

resource "azurerm_federated_identity_credential" "github" {
  count = local.github_enabled ? 1 : 0

  name                = "github-actions"
  resource_group_name = local.resource_group_name
  parent_id           = azurerm_user_assigned_identity.github[0].id
  audience            = ["api://AzureADTokenExchange"]
  issuer              = "https://token.actions.githubusercontent.com"
  subject             = local.github_subject
}

# Custom roles cannot be assignable to a single resource, so the role lives on the
# resource group while its only assignment is on the workspace.
resource "azurerm_role_definition" "job_submitter" {
  count = local.github_enabled ? 1 : 0

  name        = "cloudgd job submitter (${var.name}-${local.suffix})"
  scope       = local.resource_group_id
  description = "Submit and read Azure ML jobs in the cloudgd workspace; nothing else."

  permissions {
    actions = local.ci_actions
  }

  assignable_scopes = [local.resource_group_id]
}

resource "azurerm_role_assignment" "ci_job_submitter" {
  count = local.github_enabled ? 1 : 0

  scope              = azurerm_machine_learning_workspace.this.id
  role_definition_id = azurerm_role_definition.job_submitter[0].role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.github[0].principal_id
  principal_type     = "ServicePrincipal"
}

# The code snapshot is uploaded to the workspace storage with the CI identity itself
# (the SDK falls back to it when it may not list the datastore's secrets).
resource "azurerm_role_assignment" "ci_blob_upload" {
  count = local.github_enabled ? 1 : 0

  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.github[0].principal_id
  principal_type       = "ServicePrincipal"
}

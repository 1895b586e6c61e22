# Output names equal the fields of providers.azure in a cloudgd job spec
# (providers/azure/options.py), so `cloudgd config from-terraform` copies them as is.

output "subscription_id" {
  description = "Subscription of the workspace (providers.azure.subscription_id)."
  value       = data.azurerm_client_config.current.subscription_id
}

output "resource_group" {
  description = "Resource group of the workspace (providers.azure.resource_group)."
  value       = local.resource_group_name
}

output "workspace" {
  description = "Azure ML workspace name (providers.azure.workspace)."
  value       = azurerm_machine_learning_workspace.this.name
}

output "compute" {
  description = "AmlCompute cluster name (providers.azure.compute)."
  value       = azurerm_machine_learning_compute_cluster.this.name
}

output "location" {
  description = "Region of the workspace; use it as resources.region in job specs."
  value       = var.location
}

output "storage_account" {
  description = "Workspace storage account (default datastore workspaceblobstore)."
  value       = azurerm_storage_account.this.name
}

output "container_registry" {
  description = "Login server of the container registry for custom images, or null."
  value       = one(azurerm_container_registry.this[*].login_server)
}

output "tenant_id" {
  description = "Entra ID tenant (tenant-id for azure/login)."
  value       = data.azurerm_client_config.current.tenant_id
}

output "github_client_id" {
  description = "client-id for azure/login in GitHub Actions, or null."
  value       = one(azurerm_user_assigned_identity.github[*].client_id)
}

output "key_vault_uri" {
  description = "The workspace's Key Vault; a job's secret reference is <key_vault_uri>secrets/<name>."
  value       = azurerm_key_vault.this.vault_uri
}

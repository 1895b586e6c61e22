# Same names as providers.azure in a job spec: `cloudgd config from-terraform .` reads them.

output "cloudgd_provider" {
  description = "Which providers.<name> block these outputs fill."
  value       = "azure"
}

output "subscription_id" {
  description = "Subscription of the workspace."
  value       = module.azureml.subscription_id
}

output "resource_group" {
  description = "Resource group of the workspace."
  value       = module.azureml.resource_group
}

output "workspace" {
  description = "Azure ML workspace name."
  value       = module.azureml.workspace
}

output "compute" {
  description = "AmlCompute cluster name."
  value       = module.azureml.compute
}

output "location" {
  description = "Use as resources.region in job specs."
  value       = module.azureml.location
}

output "storage_account" {
  description = "Workspace storage account."
  value       = module.azureml.storage_account
}

output "container_registry" {
  description = "Login server of the container registry, or null."
  value       = module.azureml.container_registry
}

output "tenant_id" {
  description = "tenant-id for azure/login."
  value       = module.azureml.tenant_id
}

output "github_client_id" {
  description = "client-id for azure/login in GitHub Actions, or null."
  value       = module.azureml.github_client_id
}

output "key_vault_uri" {
  description = "The workspace's Key Vault; a job's secret reference is <key_vault_uri>secrets/<name>."
  value       = module.azureml.key_vault_uri
}

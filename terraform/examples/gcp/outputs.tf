# Same names as providers.gcp in a job spec: `cloudgd config from-terraform .` reads them.

output "cloudgd_provider" {
  description = "Which providers.<name> block these outputs fill."
  value       = "gcp"
}

output "project" {
  description = "Project that runs the jobs."
  value       = module.vertex.project
}

output "location" {
  description = "Vertex AI region."
  value       = module.vertex.location
}

output "staging_bucket" {
  description = "gs:// bucket for code packages, checkpoints and outputs."
  value       = module.vertex.staging_bucket
}

output "service_account" {
  description = "Service account the jobs run as."
  value       = module.vertex.service_account
}

output "network" {
  description = "VPC network jobs peer with, or null."
  value       = module.vertex.network
}

output "artifact_registry" {
  description = "Docker repository prefix for custom images, or null."
  value       = module.vertex.artifact_registry
}

output "workload_identity_provider" {
  description = "workload_identity_provider for google-github-actions/auth, or null."
  value       = module.vertex.workload_identity_provider
}

output "ci_service_account" {
  description = "service_account for google-github-actions/auth, or null."
  value       = module.vertex.ci_service_account
}

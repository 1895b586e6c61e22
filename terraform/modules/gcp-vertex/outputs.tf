# Output names equal the fields of providers.gcp in a cloudgd job spec
# (providers/gcp/options.py), so `cloudgd config from-terraform` copies them as is.

output "project" {
  description = "Project that runs the jobs (providers.gcp.project)."
  value       = var.project_id
}

output "location" {
  description = "Vertex AI region (providers.gcp.location)."
  value       = var.region
}

output "staging_bucket" {
  description = "gs:// bucket for code packages, checkpoints and outputs (providers.gcp.staging_bucket)."
  value       = "gs://${google_storage_bucket.staging.name}"
}

output "service_account" {
  description = "Service account e-mail the jobs run as (providers.gcp.service_account)."
  value       = google_service_account.training.email
}

output "network" {
  description = "VPC network jobs peer with, or null (providers.gcp.network)."
  value       = var.network
}

output "artifact_registry" {
  description = "Docker repository prefix for custom images (<region>-docker.pkg.dev/<project>/<repo>), or null."
  value       = one([for r in google_artifact_registry_repository.images : "${r.location}-docker.pkg.dev/${r.project}/${r.repository_id}"])
}

output "workload_identity_provider" {
  description = "workload_identity_provider for google-github-actions/auth, or null."
  value       = one(google_iam_workload_identity_pool_provider.github[*].name)
}

output "ci_service_account" {
  description = "service_account for google-github-actions/auth, or null."
  value       = one(google_service_account.ci[*].email)
}

provider "google" {
  project = var.project_id
  region  = var.region
}

module "vertex" {
  source = "../../modules/gcp-vertex"

  project_id               = var.project_id
  region                   = var.region
  name                     = var.name
  create_artifact_registry = var.create_artifact_registry
  github_repository        = var.github_repository
}

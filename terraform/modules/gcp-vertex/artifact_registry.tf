# Optional Docker repository for custom training images.

resource "google_artifact_registry_repository" "images" {
  count = var.create_artifact_registry ? 1 : 0

  project       = var.project_id
  location      = var.region
  repository_id = "${var.name}-images"
  description   = "cloudgd custom training images"
  format        = "DOCKER"
  kms_key_name  = var.kms_key_name
  labels        = local.labels

  docker_config {
    immutable_tags = true
  }

  depends_on = [google_project_service.this]
}

resource "google_artifact_registry_repository_iam_member" "training_reader" {
  count = var.create_artifact_registry ? 1 : 0

  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.images[0].name
  role       = "roles/artifactregistry.reader"
  member     = google_service_account.training.member
}

# Optional Workload Identity Federation for GitHub Actions: workflows of one
# repository and ref impersonate a CI service account that may submit and read
# custom jobs, upload code packages and read results: nothing else.

locals {
  github_repository = coalesce(var.github_repository, "-/-")
}

resource "google_iam_workload_identity_pool" "github" {
  count = local.github_enabled ? 1 : 0

  project                   = var.project_id
  workload_identity_pool_id = "${var.name}-github"
  display_name              = "GitHub Actions (${var.name})"
  description               = "GitHub Actions OIDC tokens of ${local.github_repository}"

  depends_on = [google_project_service.this]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  count = local.github_enabled ? 1 : 0

  #checkov:skip=CKV_GCP_125:checkov only recognises a condition on assertion.sub; this one pins assertion.repository and assertion.ref (what a branch job's sub is made of) with ==, and also admits jobs that use a GitHub environment, whose sub names no ref.
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github[0].workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub Actions"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }
  # Tokens of any other repository or branch are rejected before any IAM check.
  attribute_condition = "assertion.repository == '${local.github_repository}' && assertion.ref == '${var.github_ref}'"

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "ci" {
  count = local.github_enabled ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name}-ci"
  display_name = "cloudgd CI submitter (${var.name})"
  description  = "GitHub Actions of ${local.github_repository}: submit and read Vertex AI custom jobs."

  depends_on = [google_project_service.this]
}

resource "google_service_account_iam_member" "ci_workload_identity" {
  count = local.github_enabled ? 1 : 0

  service_account_id = google_service_account.ci[0].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github[0].name}/attribute.repository/${local.github_repository}"
}

resource "google_project_iam_custom_role" "job_submitter" {
  count = local.github_enabled ? 1 : 0

  project     = var.project_id
  role_id     = "${replace(var.name, "-", "_")}_job_submitter"
  title       = "cloudgd job submitter (${var.name})"
  description = "Create, get and list Vertex AI custom and tuning jobs and read their logs."
  permissions = [
    "aiplatform.customJobs.create",
    "aiplatform.customJobs.get",
    "aiplatform.customJobs.list",
    "aiplatform.hyperparameterTuningJobs.create",
    "aiplatform.hyperparameterTuningJobs.get",
    "aiplatform.hyperparameterTuningJobs.list",
    "logging.logEntries.list",
  ]
}

resource "google_project_iam_member" "ci_job_submitter" {
  count = local.github_enabled ? 1 : 0

  project = var.project_id
  role    = google_project_iam_custom_role.job_submitter[0].name
  member  = google_service_account.ci[0].member
}

# Jobs run as the training service account: the submitter must be allowed to act as it
# (and as nothing else: the grant is on that one account, not the project).
resource "google_service_account_iam_member" "ci_acts_as_training" {
  count = local.github_enabled ? 1 : 0

  service_account_id = google_service_account.training.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.ci[0].member
}

resource "google_storage_bucket_iam_member" "ci_upload" {
  count = local.github_enabled ? 1 : 0

  bucket = google_storage_bucket.staging.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.ci[0].member
}

resource "google_storage_bucket_iam_member" "ci_read" {
  count = local.github_enabled ? 1 : 0

  bucket = google_storage_bucket.staging.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.ci[0].member
}

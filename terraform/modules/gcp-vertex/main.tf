locals {
  bucket_name     = coalesce(var.bucket_name, "${var.project_id}-${var.name}-staging")
  bucket_location = upper(coalesce(var.bucket_location, var.region))
  github_enabled  = var.github_repository != null

  # One prefix per purpose so the lifecycle rules can target them.
  checkpoint_prefix = "checkpoints/"

  services = toset(concat(
    [
      "aiplatform.googleapis.com",
      "iam.googleapis.com",
      "logging.googleapis.com",
      "storage.googleapis.com",
    ],
    var.create_artifact_registry ? ["artifactregistry.googleapis.com"] : [],
    local.github_enabled ? ["iamcredentials.googleapis.com", "sts.googleapis.com"] : [],
  ))

  labels = merge({ "managed-by" = "terraform", "cloudgd-module" = "gcp-vertex" }, var.labels)
}

resource "google_project_service" "this" {
  for_each = var.enable_apis ? local.services : toset([])

  project = var.project_id
  service = each.value
  # Other workloads in the project may rely on these APIs: never turn them off on destroy.
  disable_on_destroy = false
}

resource "google_storage_bucket" "staging" {
  #checkov:skip=CKV_GCP_62:Usage logs need a second bucket; set access_log_bucket to enable them (Cloud Audit Logs still record admin activity).
  project       = var.project_id
  name          = local.bucket_name
  location      = local.bucket_location
  force_destroy = var.force_destroy
  labels        = local.labels

  # IAM only, no per-object ACLs, and never public whatever IAM says.
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age            = var.checkpoint_retention_days
      matches_prefix = [local.checkpoint_prefix]
      with_state     = "LIVE"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  dynamic "logging" {
    for_each = var.access_log_bucket == null ? [] : [var.access_log_bucket]
    content {
      log_bucket        = logging.value
      log_object_prefix = "gcs-usage/${local.bucket_name}/"
    }
  }

  depends_on = [google_project_service.this]
}

# The service account Vertex AI jobs run as: read/write on the staging bucket and
# log writing, nothing project-wide beyond that.

resource "google_service_account" "training" {
  project      = var.project_id
  account_id   = "${var.name}-train"
  display_name = "cloudgd training jobs (${var.name})"
  description  = "Identity of cloudgd's Vertex AI custom jobs: staging bucket and logs only."

  depends_on = [google_project_service.this]
}

# Objects only (read, create, overwrite checkpoints), on this bucket only.
resource "google_storage_bucket_iam_member" "training_objects" {
  bucket = google_storage_bucket.staging.name
  role   = "roles/storage.objectUser"
  member = google_service_account.training.member
}

# Vertex AI mounts the bucket under /gcs with Cloud Storage FUSE, which reads the
# bucket's metadata (storage.buckets.get) before mounting it.
resource "google_storage_bucket_iam_member" "training_bucket_metadata" {
  bucket = google_storage_bucket.staging.name
  role   = "roles/storage.legacyBucketReader"
  member = google_service_account.training.member
}

resource "google_project_iam_member" "training_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.training.member
}

# Only with secret_ids: the cloudgd trainer reads a job's `secrets:` from Secret
# Manager as the training account when the job starts; accessor on exactly these.
resource "google_secret_manager_secret_iam_member" "training_reads_secrets" {
  for_each = toset(var.secret_ids)

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.training.member
}

variable "project_id" {
  description = "Google Cloud project that runs the Vertex AI jobs."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID: 6-30 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "region" {
  description = "Vertex AI region for jobs and the default location of the staging bucket."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region name such as us-central1 (not a zone)."
  }
}

variable "name" {
  description = "Short name used as a prefix for created resources (3-20 lower-case letters, digits or '-')."
  type        = string
  default     = "cloudgd"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters: lower-case letters, digits or '-', starting with a letter and not ending with '-'."
  }
}

variable "bucket_name" {
  description = "Staging bucket for code packages, checkpoints and outputs. Default: <project_id>-<name>-staging."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lower-case letters, digits, '.', '_' or '-'."
  }
}

variable "bucket_location" {
  description = "Location of the staging bucket (default: region). Keep it in the job region so data does not cross regions."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_location == null || can(regex("^[A-Za-z0-9-]+$", var.bucket_location))
    error_message = "bucket_location must be a Cloud Storage location such as us-central1, US or EUR4."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the bucket while it still holds objects."
  type        = bool
  default     = false
}

variable "checkpoint_retention_days" {
  description = "Days after which objects under checkpoints/ are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.checkpoint_retention_days >= 1 && var.checkpoint_retention_days <= 3650 && floor(var.checkpoint_retention_days) == var.checkpoint_retention_days
    error_message = "checkpoint_retention_days must be a whole number between 1 and 3650."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a replaced or deleted object version is kept before it is removed."
  type        = number
  default     = 14

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 365 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number between 1 and 365."
  }
}

variable "kms_key_name" {
  description = "Cloud KMS key (projects/.../cryptoKeys/...) for the bucket's default encryption (optional; Google-managed keys otherwise). The Cloud Storage service agent needs roles/cloudkms.cryptoKeyEncrypterDecrypter on it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "kms_key_name must be projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>."
  }
}

variable "access_log_bucket" {
  description = "Existing bucket that receives usage logs of the staging bucket (optional)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket must be a bucket name."
  }
}

variable "enable_apis" {
  description = "Enable the Google APIs the jobs need (Vertex AI, Cloud Storage, IAM, Logging, and those of the optional parts)."
  type        = bool
  default     = true
}

variable "network" {
  description = "VPC network to peer jobs with, projects/<project number>/global/networks/<name> (optional; needs private services access set up)."
  type        = string
  default     = null

  validation {
    condition     = var.network == null || can(regex("^projects/[0-9]+/global/networks/[a-z]([-a-z0-9]*[a-z0-9])?$", var.network))
    error_message = "network must be projects/<project number>/global/networks/<name>."
  }
}

variable "create_artifact_registry" {
  description = "Create a Docker Artifact Registry repository for custom training images."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose Actions workflows may submit and read jobs through Workload Identity Federation. Null creates nothing."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_ref" {
  description = "Git ref whose workflow runs may authenticate (the pool's attribute condition)."
  type        = string
  default     = "refs/heads/main"

  validation {
    condition     = startswith(var.github_ref, "refs/") && !strcontains(var.github_ref, "'")
    error_message = "github_ref must be a full ref such as refs/heads/main."
  }
}

variable "labels" {
  description = "Labels added to every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "secret_ids" {
  description = "Secret Manager secrets jobs may read (spec `secrets:` with source gcp-secretmanager), as projects/<p>/secrets/<name> or a bare name; the training account gets secretAccessor on exactly these."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.secret_ids : can(regex("^(projects/[^/]+/secrets/)?[A-Za-z0-9_-]+$", s))])
    error_message = "secret_ids must be secret names or projects/<project>/secrets/<name> (no version)."
  }
}

variable "project_id" {
  description = "Google Cloud project that runs the jobs (it must exist and have billing enabled)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID: 6-30 lower-case letters, digits or '-'."
  }
}

variable "region" {
  description = "Vertex AI region for jobs and the staging bucket."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region name such as us-central1."
  }
}

variable "name" {
  description = "Prefix for the created resources (3-20 lower-case letters, digits or '-')."
  type        = string
  default     = "cloudgd"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters: lower-case letters, digits or '-'."
  }
}

variable "create_artifact_registry" {
  description = "Also create a Docker repository for custom training images."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "owner/name of a GitHub repository allowed to submit jobs from Actions on its main branch (null: no federation)."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

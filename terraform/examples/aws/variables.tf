variable "region" {
  description = "AWS region for the bucket, roles and training jobs."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "name" {
  description = "Prefix for the created resources (3-24 lower-case letters, digits or '-')."
  type        = string
  default     = "cloudgd"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 characters: lower-case letters, digits or '-'."
  }
}

variable "create_ecr_repository" {
  description = "Also create a private ECR repository for custom training images."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "owner/name of a GitHub repository allowed to submit jobs from Actions on its main branch (null: no CI role)."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

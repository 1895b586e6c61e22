variable "name" {
  description = "Short name used as a prefix for every resource (bucket, role, key alias): 3-24 lower-case letters, digits or '-'."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 characters: lower-case letters, digits or '-', starting with a letter and not ending with '-'."
  }
}

variable "bucket_name" {
  description = "S3 bucket for code bundles, data, checkpoints and outputs. Default: <name>-<account id>-<region>, which is globally unique."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lower-case letters, digits, '.' or '-'."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the bucket while it still holds objects (models, checkpoints). Keep false outside experiments."
  type        = bool
  default     = false
}

variable "checkpoint_retention_days" {
  description = "Days after which objects under checkpoints/ expire. Checkpoints only matter while a job may resume."
  type        = number
  default     = 30

  validation {
    condition     = var.checkpoint_retention_days >= 1 && var.checkpoint_retention_days <= 3650 && floor(var.checkpoint_retention_days) == var.checkpoint_retention_days
    error_message = "checkpoint_retention_days must be a whole number between 1 and 3650."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a replaced or deleted object version is kept (versioning protects against accidental overwrites) before it is removed."
  type        = number
  default     = 14

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 365 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number between 1 and 365."
  }
}

variable "kms_key_arn" {
  description = "ARN of an existing customer-managed KMS key for the bucket, job outputs and training volumes. Default: the module creates one with rotation on."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); aliases are not accepted by SageMaker volume encryption."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a created KMS key is deleted after `terraform destroy` (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "access_log_bucket" {
  description = "Name of an existing bucket that receives S3 server access logs for the training bucket (optional; it must allow the logging service to write)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket must be a valid S3 bucket name."
  }
}

variable "prebuilt_image_registry_accounts" {
  description = "AWS accounts hosting the Deep Learning Container images the role may pull (763104351884 serves most regions; see the AWS DLC docs for opt-in regions)."
  type        = list(string)
  default     = ["763104351884"]

  validation {
    condition     = alltrue([for a in var.prebuilt_image_registry_accounts : can(regex("^[0-9]{12}$", a))])
    error_message = "prebuilt_image_registry_accounts must be 12-digit AWS account IDs."
  }
}

variable "prebuilt_image_repositories" {
  description = "Deep Learning Container repositories the role may pull from (cloudgd's prebuilt image is pytorch-training)."
  type        = list(string)
  default     = ["pytorch-training", "huggingface-pytorch-training"]

  validation {
    condition     = alltrue([for r in var.prebuilt_image_repositories : can(regex("^[a-z0-9][a-z0-9._/-]*$", r))])
    error_message = "prebuilt_image_repositories must be ECR repository names (no wildcards)."
  }
}

variable "create_ecr_repository" {
  description = "Create a private ECR repository for custom training images (spec `image: <uri>`)."
  type        = bool
  default     = false
}

variable "ecr_image_retention_count" {
  description = "Number of most recent images kept in the ECR repository; older ones expire."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_image_retention_count >= 1 && var.ecr_image_retention_count <= 1000
    error_message = "ecr_image_retention_count must be between 1 and 1000."
  }
}

variable "subnet_ids" {
  description = "VPC subnets for training jobs (optional; empty runs jobs in SageMaker's managed network). Needs security_group_ids too."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must be subnet IDs like subnet-0123abcd."
  }
}

variable "security_group_ids" {
  description = "Security groups for training jobs in a VPC. They must allow all traffic between members of the group for multi-node jobs."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "security_group_ids must be security group IDs like sg-0123abcd."
  }
}

variable "permissions_boundary_arn" {
  description = "IAM permissions boundary attached to every role this module creates (optional; many organisations require one)."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose Actions workflows may submit and read jobs through OIDC. Null creates no CI role."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_subjects" {
  description = "OIDC subject claims allowed to assume the CI role, each of github_repository, e.g. repo:owner/name:ref:refs/heads/main or repo:owner/name:environment:prod. Default: the main branch only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.github_subjects : startswith(s, "repo:") && !strcontains(s, "*")])
    error_message = "github_subjects must be exact subject claims starting with repo: and without wildcards."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of the account's existing token.actions.githubusercontent.com OIDC provider (an account holds one per URL). Null creates it."
  type        = string
  default     = null

  validation {
    condition     = var.github_oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "secret_arns" {
  description = "Secrets Manager secret ARNs that jobs may read (spec `secrets:` with source aws-secretsmanager); the execution role gets secretsmanager:GetSecretValue on exactly these."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", a))])
    error_message = "secret_arns must be Secrets Manager secret ARNs (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>)."
  }
}

variable "name" {
  description = "Short name used in every resource name (3-12 lower-case letters or digits, starting with a letter: storage and registry names allow nothing else)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,11}$", var.name))
    error_message = "name must be 3-12 lower-case letters or digits, starting with a letter."
  }
}

variable "location" {
  description = "Azure region for the workspace, its dependencies and the compute cluster."
  type        = string
  default     = "eastus"

  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be a region name without spaces, such as eastus or westeurope."
  }
}

variable "create_resource_group" {
  description = "Create the resource group; false uses an existing one named resource_group_name."
  type        = bool
  default     = true
}

variable "resource_group_name" {
  description = "Resource group for everything. Default: rg-<name>."
  type        = string
  default     = null

  validation {
    condition     = var.resource_group_name == null || can(regex("^[-\\w._()]{1,89}[-\\w_()]$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'."
  }
}

variable "storage_replication_type" {
  description = "Replication of the workspace storage account (GRS keeps a copy in the paired region; LRS is cheapest)."
  type        = string
  default     = "GRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "GZRS", "RAGRS", "RAGZRS"], var.storage_replication_type)
    error_message = "storage_replication_type must be one of LRS, ZRS, GRS, GZRS, RAGRS, RAGZRS."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a replaced or deleted blob version is kept before the lifecycle policy removes it."
  type        = number
  default     = 14

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 365 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number between 1 and 365."
  }
}

variable "log_retention_days" {
  description = "Retention of the Log Analytics workspace behind Application Insights (30-730 days)."
  type        = number
  default     = 90

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be between 30 and 730."
  }
}

variable "compute_name" {
  description = "Name of the AmlCompute cluster jobs run on (providers.azure.compute): 2-16 letters, digits or '-'."
  type        = string
  default     = "gpu-cluster"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,15}$", var.compute_name))
    error_message = "compute_name must be 2-16 letters, digits or '-', starting with a letter."
  }
}

variable "compute_vm_size" {
  description = "VM size of the cluster nodes, e.g. Standard_NC4as_T4_v3 (1x T4), Standard_NC24ads_A100_v4 (1x A100 80GB), Standard_D4s_v3 (CPU)."
  type        = string
  default     = "Standard_NC4as_T4_v3"

  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.compute_vm_size))
    error_message = "compute_vm_size must be an Azure VM size such as Standard_NC4as_T4_v3."
  }
}

variable "compute_min_nodes" {
  description = "Nodes kept running when idle. 0 means the cluster costs nothing between jobs."
  type        = number
  default     = 0

  validation {
    condition     = var.compute_min_nodes >= 0 && floor(var.compute_min_nodes) == var.compute_min_nodes
    error_message = "compute_min_nodes must be a whole number >= 0."
  }
}

variable "compute_max_nodes" {
  description = "Most nodes the cluster scales out to (the largest resources.nodes a job may ask for)."
  type        = number
  default     = 2

  validation {
    condition     = var.compute_max_nodes >= 1 && var.compute_max_nodes <= 100 && floor(var.compute_max_nodes) == var.compute_max_nodes
    error_message = "compute_max_nodes must be a whole number between 1 and 100."
  }
}

variable "compute_idle_minutes" {
  description = "Minutes an idle node waits before the cluster releases it."
  type        = number
  default     = 10

  validation {
    condition     = var.compute_idle_minutes >= 1 && var.compute_idle_minutes <= 10080 && floor(var.compute_idle_minutes) == var.compute_idle_minutes
    error_message = "compute_idle_minutes must be a whole number between 1 and 10080 (one week)."
  }
}

variable "compute_low_priority" {
  description = "Use low-priority (spot) VMs: much cheaper, may be preempted; jobs resume from checkpoints."
  type        = bool
  default     = false
}

variable "public_network_access_enabled" {
  description = "Let the workspace and its storage account accept traffic from public networks (Entra ID auth still applies): the cloudgd CLI on a laptop and GitHub-hosted runners need it. false (default): only private endpoints in your virtual network reach them, so submit from a host there, such as a self-hosted runner."
  type        = bool
  default     = false
}

variable "compute_subnet_id" {
  description = "Subnet for the cluster nodes (optional). With a subnet the nodes get no public IP."
  type        = string
  default     = null

  validation {
    condition     = var.compute_subnet_id == null || can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Network/virtualNetworks/[^/]+/subnets/[^/]+$", var.compute_subnet_id))
    error_message = "compute_subnet_id must be a subnet resource ID."
  }
}

variable "create_container_registry" {
  description = "Create a container registry for custom training images and attach it to the workspace."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose Actions workflows may submit and read jobs through a federated credential. Null creates nothing."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_subject" {
  description = "OIDC subject the federated credential accepts, e.g. repo:owner/name:environment:prod. Default: the main branch of github_repository."
  type        = string
  default     = null

  validation {
    condition     = var.github_subject == null || (startswith(coalesce(var.github_subject, "-"), "repo:") && !strcontains(coalesce(var.github_subject, "-"), "*"))
    error_message = "github_subject must be an exact subject claim starting with repo: (no wildcards)."
  }
}

variable "ci_extra_actions" {
  description = "Further Azure ML actions for the CI identity, should a new SDK need one (no wildcards)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ci_extra_actions : startswith(a, "Microsoft.MachineLearningServices/workspaces/") && !strcontains(a, "*")])
    error_message = "ci_extra_actions must be Microsoft.MachineLearningServices/workspaces/... actions without wildcards."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "compute_reads_key_vault_secrets" {
  description = "Let the cluster's identity read secrets in the workspace's Key Vault (Key Vault Secrets User), for spec `secrets:` with source azure-keyvault."
  type        = bool
  default     = false
}

variable "subscription_id" {
  description = "Azure subscription to create the workspace in (azurerm 4.x requires it explicitly)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a GUID."
  }
}

variable "location" {
  description = "Azure region for the workspace and compute."
  type        = string
  default     = "eastus"

  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be a region name such as eastus."
  }
}

variable "name" {
  description = "Short name in every resource name (3-12 lower-case letters or digits)."
  type        = string
  default     = "cloudgd"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,11}$", var.name))
    error_message = "name must be 3-12 lower-case letters or digits, starting with a letter."
  }
}

variable "compute_vm_size" {
  description = "VM size of the training cluster nodes (Standard_NC4as_T4_v3: one T4 GPU)."
  type        = string
  default     = "Standard_NC4as_T4_v3"

  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.compute_vm_size))
    error_message = "compute_vm_size must be an Azure VM size such as Standard_NC4as_T4_v3."
  }
}

variable "compute_max_nodes" {
  description = "Most nodes the cluster scales out to."
  type        = number
  default     = 2

  validation {
    condition     = var.compute_max_nodes >= 1 && var.compute_max_nodes <= 100 && floor(var.compute_max_nodes) == var.compute_max_nodes
    error_message = "compute_max_nodes must be a whole number between 1 and 100."
  }
}

variable "compute_low_priority" {
  description = "Use low-priority (spot) VMs for the cluster."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "owner/name of a GitHub repository allowed to submit jobs from Actions on its main branch (null: no federated credential)."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "public_network_access_enabled" {
  description = "Reach the workspace and its storage from public networks (the cloudgd CLI on a laptop, GitHub-hosted runners); false keeps them to private endpoints."
  type        = bool
  default     = false
}

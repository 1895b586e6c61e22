provider "azurerm" {
  subscription_id = var.subscription_id

  features {
    key_vault {
      # The vault holds the workspace's secrets: keep it recoverable after destroy.
      purge_soft_delete_on_destroy = false
    }
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
    storage {
      # The storage account refuses public networks unless public_network_access_enabled:
      # manage it through Azure Resource Manager only, never its blob or queue endpoints.
      data_plane_available = false
    }
  }
}

module "azureml" {
  source = "../../modules/azure-ml"

  name                 = var.name
  location             = var.location
  compute_vm_size      = var.compute_vm_size
  compute_max_nodes    = var.compute_max_nodes
  compute_low_priority = var.compute_low_priority
  github_repository    = var.github_repository

  public_network_access_enabled = var.public_network_access_enabled
}

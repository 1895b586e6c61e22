# The cluster jobs run on: scales to zero when idle, optionally on low-priority VMs.

locals {
  # Azure reports the idle time normalised (PT90M comes back as PT1H30M), and a
  # difference would replace the cluster: write it the way Azure returns it.
  idle_hours          = floor(var.compute_idle_minutes / 60)
  idle_minutes        = var.compute_idle_minutes % 60
  idle_before_scaling = "PT${local.idle_hours > 0 ? "${local.idle_hours}H" : ""}${local.idle_minutes > 0 ? "${local.idle_minutes}M" : ""}"
}

resource "azurerm_machine_learning_compute_cluster" "this" {
  name                          = var.compute_name
  location                      = var.location
  machine_learning_workspace_id = azurerm_machine_learning_workspace.this.id
  vm_size                       = var.compute_vm_size
  vm_priority                   = var.compute_low_priority ? "LowPriority" : "Dedicated"
  description                   = "cloudgd training cluster (${var.compute_low_priority ? "low priority" : "dedicated"})"
  # Nodes accept no SSH and no local (key) auth: jobs come in through the workspace only.
  local_auth_enabled        = false
  ssh_public_access_enabled = false
  node_public_ip_enabled    = var.compute_subnet_id == null
  subnet_resource_id        = var.compute_subnet_id
  tags                      = local.tags

  scale_settings {
    min_node_count                       = var.compute_min_nodes
    max_node_count                       = var.compute_max_nodes
    scale_down_nodes_after_idle_duration = local.idle_before_scaling
  }

  identity {
    type = "SystemAssigned"
  }

  lifecycle {
    precondition {
      condition     = var.compute_min_nodes <= var.compute_max_nodes
      error_message = "compute_min_nodes must be <= compute_max_nodes."
    }
  }
}

# Only with compute_reads_key_vault_secrets: the cloudgd trainer reads a job's
# `secrets:` from the workspace's Key Vault with the cluster's identity.
resource "azurerm_role_assignment" "compute_key_vault_secrets" {
  count = var.compute_reads_key_vault_secrets ? 1 : 0

  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_machine_learning_compute_cluster.this.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

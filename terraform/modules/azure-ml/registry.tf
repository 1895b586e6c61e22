# Optional container registry for custom training images, attached to the workspace.

resource "azurerm_container_registry" "this" {
  count = var.create_container_registry ? 1 : 0

  #checkov:skip=CKV_AZURE_139:Image pushes from laptops and CI and pulls by the cluster use the public endpoint with Entra ID auth (admin user and anonymous pull are off); private endpoints need a VNet.
  #checkov:skip=CKV_AZURE_165:Training runs in one region, next to the registry; geo-replication would bill a second registry.
  #checkov:skip=CKV_AZURE_233:Zone redundancy is fixed at creation and billed; losing the registry only delays custom-image jobs until images are pushed again.
  #checkov:skip=CKV_AZURE_164:Content trust (Docker Content Trust) is deprecated by Azure in favour of Notation signing, which needs a signing pipeline this module cannot assume.
  #checkov:skip=CKV_AZURE_166:Quarantine blocks pulls until an external scanner releases each image; no scanner is part of this setup.
  name                          = "acr${var.name}${local.suffix}"
  resource_group_name           = local.resource_group_name
  location                      = var.location
  sku                           = "Premium"
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = true
  # Image layers come from a registry-specific endpoint, so firewall rules can name this registry alone.
  data_endpoint_enabled    = true
  retention_policy_in_days = 7
  tags                     = local.tags

  depends_on = [azurerm_resource_group.this]
}

# Azure ML builds environment images into the registry with the workspace identity
# and the cluster pulls them with its own.
resource "azurerm_role_assignment" "workspace_acr_push" {
  count = var.create_container_registry ? 1 : 0

  scope                = azurerm_container_registry.this[0].id
  role_definition_name = "AcrPush"
  principal_id         = azurerm_machine_learning_workspace.this.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "compute_acr_pull" {
  count = var.create_container_registry ? 1 : 0

  scope                = azurerm_container_registry.this[0].id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_machine_learning_compute_cluster.this.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

data "azurerm_client_config" "current" {}

locals {
  resource_group_name = coalesce(var.resource_group_name, "rg-${var.name}")
  resource_group_id = (
    var.create_resource_group ? azurerm_resource_group.this[0].id : data.azurerm_resource_group.this[0].id
  )
  # Storage, key vault and registry names are global: a stable suffix derived from the
  # subscription and resource group keeps them unique without a random provider.
  suffix = substr(sha1("${data.azurerm_client_config.current.subscription_id}/${local.resource_group_name}/${var.name}"), 0, 6)
  tags   = merge({ "managed-by" = "terraform", "cloudgd-module" = "azure-ml" }, var.tags)
}

resource "azurerm_resource_group" "this" {
  count = var.create_resource_group ? 1 : 0

  name     = local.resource_group_name
  location = var.location
  tags     = local.tags
}

data "azurerm_resource_group" "this" {
  count = var.create_resource_group ? 0 : 1

  name = local.resource_group_name
}

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV2_AZURE_40:Azure ML's default datastores authenticate with the account key; workspaces on provider 4.x cannot switch them to identity-based access.
  #checkov:skip=CKV_AZURE_35:With public_network_access_enabled the workspace, compute and CLI reach the storage without private endpoints, so its default network action must allow them; without it no public traffic arrives at all.
  #checkov:skip=CKV2_AZURE_33:Private endpoints need a virtual network this module does not own.
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys encrypt the data at rest (plus infrastructure encryption); customer-managed keys need a key the workspace's identity can reach first.
  #checkov:skip=CKV_AZURE_33:The queue service is unused by Azure ML training jobs; there is nothing to log.
  #checkov:skip=CKV_AZURE_43:checkov cannot evaluate the sha1 suffix of the subscription ID; the name validation on var.name keeps the result to 20 lower-case letters and digits.
  name                              = "st${var.name}${local.suffix}"
  resource_group_name               = local.resource_group_name
  location                          = var.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.storage_replication_type
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  cross_tenant_replication_enabled  = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  # Azure ML's default datastores need Shared Key (see the CKV2_AZURE_40 skip); SAS
  # tokens derived from it are flagged after a day (sas_policy below).
  shared_access_key_enabled = true
  # Follows the workspace: a private workspace whose datastore stays public would leak its data.
  public_network_access_enabled = var.public_network_access_enabled
  tags                          = local.tags

  blob_properties {
    versioning_enabled = true

    delete_retention_policy {
      days = 14
    }

    container_delete_retention_policy {
      days = 14
    }
  }

  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }

  depends_on = [azurerm_resource_group.this]
}

resource "azurerm_storage_management_policy" "this" {
  storage_account_id = azurerm_storage_account.this.id

  rule {
    name    = "expire-noncurrent-versions"
    enabled = true

    filters {
      blob_types = ["blockBlob"]
    }

    actions {
      version {
        delete_after_days_since_creation = var.noncurrent_version_retention_days
      }
    }
  }
}

resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV_AZURE_109:The workspace's managed identity and Azure ML reach the vault over its public endpoint; a deny-by-default firewall needs private endpoints.
  #checkov:skip=CKV_AZURE_189:Public network access stays on for the same reason as CKV_AZURE_109: no private endpoints without a VNet.
  #checkov:skip=CKV2_AZURE_32:Private endpoints need a virtual network this module does not own.
  name                       = "kv-${var.name}-${local.suffix}"
  resource_group_name        = local.resource_group_name
  location                   = var.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  enable_rbac_authorization  = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 90
  tags                       = local.tags

  network_acls {
    default_action = "Allow"
    bypass         = "AzureServices"
  }

  depends_on = [azurerm_resource_group.this]
}

resource "azurerm_log_analytics_workspace" "this" {
  name                = "log-${var.name}-${local.suffix}"
  resource_group_name = local.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags

  depends_on = [azurerm_resource_group.this]
}

resource "azurerm_application_insights" "this" {
  name                = "appi-${var.name}-${local.suffix}"
  resource_group_name = local.resource_group_name
  location            = var.location
  application_type    = "web"
  workspace_id        = azurerm_log_analytics_workspace.this.id
  tags                = local.tags
}

resource "azurerm_machine_learning_workspace" "this" {
  #checkov:skip=CKV_AZURE_236:Microsoft-managed keys encrypt workspace metadata; customer-managed keys create extra billed resources per workspace.
  name                          = "mlw-${var.name}-${local.suffix}"
  friendly_name                 = "cloudgd ${var.name}"
  resource_group_name           = local.resource_group_name
  location                      = var.location
  application_insights_id       = azurerm_application_insights.this.id
  key_vault_id                  = azurerm_key_vault.this.id
  storage_account_id            = azurerm_storage_account.this.id
  container_registry_id         = one(azurerm_container_registry.this[*].id)
  public_network_access_enabled = var.public_network_access_enabled
  tags                          = local.tags

  identity {
    type = "SystemAssigned"
  }
}

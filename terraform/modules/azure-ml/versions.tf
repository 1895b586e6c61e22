terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # Modules allow updates within the tested major; the examples pin exactly.
      version = "~> 4.33"
    }
  }
}

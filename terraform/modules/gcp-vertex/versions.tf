terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Modules allow updates within the tested major; the examples pin exactly.
      version = "~> 6.40"
    }
  }
}

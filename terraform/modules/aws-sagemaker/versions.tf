terraform {
  # 1.5 for `check` blocks and `optional()` object attributes.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Modules allow patch/minor updates within the tested major; the examples pin exactly.
      version = "~> 5.100"
    }
  }
}

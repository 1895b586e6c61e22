provider "aws" {
  region = var.region

  default_tags {
    tags = { project = "cloudgd" }
  }
}

module "sagemaker" {
  source = "../../modules/aws-sagemaker"

  name                  = var.name
  create_ecr_repository = var.create_ecr_repository
  github_repository     = var.github_repository
}

# Same names as providers.aws in a job spec: `cloudgd config from-terraform .` reads them.

output "cloudgd_provider" {
  description = "Which providers.<name> block these outputs fill."
  value       = "aws"
}

output "role_arn" {
  description = "SageMaker execution role ARN."
  value       = module.sagemaker.role_arn
}

output "output_uri" {
  description = "s3:// prefix for model artefacts and code bundles."
  value       = module.sagemaker.output_uri
}

output "checkpoint_uri" {
  description = "s3:// prefix for checkpoints (expire after the module's retention)."
  value       = module.sagemaker.checkpoint_uri
}

output "kms_key_id" {
  description = "KMS key ARN for outputs and training volumes."
  value       = module.sagemaker.kms_key_id
}

output "subnets" {
  description = "VPC subnets for training jobs (empty: SageMaker's network)."
  value       = module.sagemaker.subnets
}

output "security_group_ids" {
  description = "Security groups for training jobs in a VPC."
  value       = module.sagemaker.security_group_ids
}

output "region" {
  description = "Use as resources.region in job specs."
  value       = module.sagemaker.region
}

output "bucket_name" {
  description = "The training bucket."
  value       = module.sagemaker.bucket_name
}

output "ecr_repository_url" {
  description = "Private ECR repository for custom images, or null."
  value       = module.sagemaker.ecr_repository_url
}

output "github_actions_role_arn" {
  description = "role-to-assume for aws-actions/configure-aws-credentials, or null."
  value       = module.sagemaker.github_actions_role_arn
}

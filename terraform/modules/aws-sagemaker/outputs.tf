# Output names equal the fields of providers.aws in a cloudgd job spec
# (providers/aws/options.py), so `cloudgd config from-terraform` copies them as is.

output "role_arn" {
  description = "SageMaker execution role ARN (providers.aws.role_arn)."
  value       = aws_iam_role.sagemaker.arn
}

output "output_uri" {
  description = "s3:// prefix for model artefacts and code bundles (providers.aws.output_uri)."
  value       = "s3://${aws_s3_bucket.this.id}/${trimsuffix(local.output_prefix, "/")}"
}

output "checkpoint_uri" {
  description = "s3:// prefix for checkpoints; objects under it expire after checkpoint_retention_days (providers.aws.checkpoint_uri)."
  value       = "s3://${aws_s3_bucket.this.id}/${trimsuffix(local.checkpoint_prefix, "/")}"
}

output "kms_key_id" {
  description = "KMS key ARN for job outputs and training volumes (providers.aws.kms_key_id)."
  value       = local.kms_key_arn
}

output "subnets" {
  description = "VPC subnets for training jobs; empty when jobs use SageMaker's network (providers.aws.subnets)."
  value       = var.subnet_ids
}

output "security_group_ids" {
  description = "Security groups for training jobs in a VPC (providers.aws.security_group_ids)."
  value       = var.security_group_ids
}

output "bucket_name" {
  description = "The training bucket (data can be uploaded under s3://<bucket>/data/)."
  value       = aws_s3_bucket.this.id
}

output "region" {
  description = "Region of the bucket and role; use it as resources.region in job specs."
  value       = local.region
}

output "ecr_repository_url" {
  description = "Private ECR repository for custom images, or null."
  value       = one(aws_ecr_repository.this[*].repository_url)
}

output "github_actions_role_arn" {
  description = "Role for aws-actions/configure-aws-credentials (role-to-assume) in GitHub Actions, or null."
  value       = one(aws_iam_role.github[*].arn)
}

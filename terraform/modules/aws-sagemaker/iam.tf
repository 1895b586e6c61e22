# The execution role SageMaker assumes to run training jobs: only this bucket, this
# key, its own log group and image pulls.

data "aws_iam_policy_document" "sagemaker_trust" {
  statement {
    sid     = "SageMakerAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    # Confused-deputy guard: only SageMaker acting for this account.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "sagemaker" {
  name                 = "${var.name}-sagemaker-execution"
  description          = "cloudgd: runs SageMaker training jobs for ${var.name}"
  assume_role_policy   = data.aws_iam_policy_document.sagemaker_trust.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = local.tags

  lifecycle {
    precondition {
      condition     = (length(var.subnet_ids) == 0) == (length(var.security_group_ids) == 0)
      error_message = "subnet_ids and security_group_ids go together: SageMaker's VpcConfig needs both or neither."
    }
  }
}

locals {
  ecr_pull_repository_arns = concat(
    [for pair in setproduct(var.prebuilt_image_registry_accounts, var.prebuilt_image_repositories) :
    "arn:${local.partition}:ecr:${local.region}:${pair[0]}:repository/${pair[1]}"],
    aws_ecr_repository.this[*].arn,
  )
}

data "aws_iam_policy_document" "sagemaker" {
  statement {
    sid       = "ListTrainingBucket"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid    = "ReadWriteTrainingObjects"
    effect = "Allow"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = ["${aws_s3_bucket.this.arn}/*"]
  }

  statement {
    sid    = "UseTrainingKey"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = [local.kms_key_arn]
  }

  statement {
    sid       = "GrantKeyToVolumes"
    effect    = "Allow"
    actions   = ["kms:CreateGrant"]
    resources = [local.kms_key_arn]

    # Only grants for AWS services (the EBS volumes of the training instances).
    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid    = "WriteOwnLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = [local.log_group_arn, "${local.log_group_arn}:log-stream:*"]
  }

  statement {
    sid       = "PublishTrainingMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions; the namespace condition scopes it.

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/TrainingJobs"]
    }
  }

  statement {
    sid    = "PullTrainingImages"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = local.ecr_pull_repository_arns
  }

  statement {
    sid       = "GetRegistryToken"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions.
  }
}

resource "aws_iam_role_policy" "sagemaker" {
  name   = "cloudgd-training"
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.sagemaker.json
}

# Only with subnets: SageMaker creates and removes the training instances' network
# interfaces in those subnets with the execution role.
data "aws_iam_policy_document" "sagemaker_vpc" {
  statement {
    sid    = "ManageTrainingNetworkInterfaces"
    effect = "Allow"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:CreateNetworkInterfacePermission",
      "ec2:DeleteNetworkInterface",
      "ec2:DeleteNetworkInterfacePermission",
    ]
    resources = concat(
      ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
      [for s in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${s}"],
      [for g in var.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${g}"],
    )
  }

  statement {
    sid    = "DescribeTrainingNetwork"
    effect = "Allow"
    actions = [
      "ec2:DescribeDhcpOptions",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
    ]
    resources = ["*"] # EC2 Describe* calls have no resource-level permissions.
  }
}

resource "aws_iam_role_policy" "sagemaker_vpc" {
  count = length(var.subnet_ids) > 0 ? 1 : 0

  name   = "cloudgd-training-vpc"
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.sagemaker_vpc.json
}

# Only with secret_arns: the cloudgd trainer reads a job's `secrets:` from Secrets
# Manager with the execution role when the job starts, and nothing else.
data "aws_iam_policy_document" "sagemaker_secrets" {
  statement {
    sid       = "ReadJobSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.secret_arns
  }
}

resource "aws_iam_role_policy" "sagemaker_secrets" {
  count = length(var.secret_arns) > 0 ? 1 : 0

  name   = "cloudgd-training-secrets"
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.sagemaker_secrets.json
}

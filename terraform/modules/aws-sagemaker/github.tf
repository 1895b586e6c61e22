# Optional role for GitHub Actions (OIDC, no stored keys) that may submit training and
# tuning jobs and read them back: nothing else.

locals {
  github_enabled  = var.github_repository != null
  github_subjects = length(var.github_subjects) > 0 ? var.github_subjects : ["repo:${coalesce(var.github_repository, "-/-")}:ref:refs/heads/main"]
  github_oidc_provider_arn = (
    var.github_oidc_provider_arn != null ? var.github_oidc_provider_arn : one(aws_iam_openid_connect_provider.github[*].arn)
  )
  training_job_arn_prefix = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:training-job/"
  tuning_job_arn_prefix   = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:hyper-parameter-tuning-job/"
}

resource "aws_iam_openid_connect_provider" "github" {
  count = local.github_enabled && var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  # AWS validates GitHub's certificate through its own trust store; the thumbprints
  # are kept for older tooling that still reads them.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
  tags = local.tags
}

data "aws_iam_policy_document" "github_trust" {
  #checkov:skip=CKV_AWS_358:checkov only reads sub values written as a literal list; these come from local.github_subjects, each repo:<github_repository>:<claim> (precondition on aws_iam_role.github) without wildcards (validation), matched with StringEquals.
  statement {
    sid     = "GitHubActionsOidc"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [coalesce(local.github_oidc_provider_arn, "arn:${local.partition}:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com")]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = local.github_subjects
    }
  }
}

resource "aws_iam_role" "github" {
  count = local.github_enabled ? 1 : 0

  name                 = "${var.name}-github-actions"
  description          = "cloudgd: GitHub Actions in ${coalesce(var.github_repository, "-")} submit and read SageMaker training jobs"
  assume_role_policy   = data.aws_iam_policy_document.github_trust.json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary_arn
  tags                 = local.tags

  lifecycle {
    precondition {
      # The repository claim comes first, so no other repository's workflows match.
      condition     = alltrue([for s in local.github_subjects : startswith(s, "repo:${coalesce(var.github_repository, "-/-")}:")])
      error_message = "github_subjects must each start with repo:<github_repository>: (the subject claims of that repository only)."
    }
  }
}

data "aws_iam_policy_document" "github" {
  statement {
    sid    = "SubmitAndReadTrainingJobs"
    effect = "Allow"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateTrainingJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:ListTags",
    ]
    resources = ["${local.training_job_arn_prefix}*"]
  }

  statement {
    sid    = "SubmitAndReadTuningJobs"
    effect = "Allow"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateHyperParameterTuningJob",
      "sagemaker:DescribeHyperParameterTuningJob",
      "sagemaker:ListTags",
      "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
    ]
    resources = ["${local.tuning_job_arn_prefix}*"]
  }

  statement {
    sid    = "ListTrainingJobs"
    effect = "Allow"
    actions = [
      "sagemaker:ListHyperParameterTuningJobs",
      "sagemaker:ListTrainingJobs",
    ]
    resources = ["*"] # The List calls have no resource-level permissions.
  }

  statement {
    sid       = "PassExecutionRoleToSageMaker"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.sagemaker.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid       = "ListTrainingBucket"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid       = "UploadBundlesUnderOutputs"
    effect    = "Allow"
    actions   = ["s3:AbortMultipartUpload", "s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/${local.output_prefix}*"]
  }

  statement {
    sid       = "ReadJobResults"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
  }

  statement {
    sid       = "UseTrainingKeyForObjects"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]
  }

  statement {
    sid    = "ReadTrainingLogs"
    effect = "Allow"
    actions = [
      "logs:DescribeLogStreams",
      "logs:FilterLogEvents",
      "logs:GetLogEvents",
    ]
    resources = [local.log_group_arn, "${local.log_group_arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "github" {
  count = local.github_enabled ? 1 : 0

  name   = "cloudgd-submit-and-read-jobs"
  role   = aws_iam_role.github[0].id
  policy = data.aws_iam_policy_document.github.json
}

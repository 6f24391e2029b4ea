# Customer-managed key for the weights: only the serving, training and broker roles may use it
# for decryption (through S3), and only the deployer may administer it.
resource "aws_kms_key" "weights" {
  description             = "Model weights at rest"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.weights_key.json
  tags                    = local.weight_tags
}

resource "aws_kms_alias" "weights" {
  name          = "alias/model-weights"
  target_key_id = aws_kms_key.weights.key_id
}

data "aws_iam_policy_document" "weights_key" {
  # Administration without kms:PutKeyPolicy or kms:CreateGrant: either would let the deployer
  # give itself Decrypt (a key-policy change goes through the two-party break-glass path).
  statement {
    sid    = "KeyAdministration"
    effect = "Allow"
    actions = [
      "kms:CreateAlias", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Update*",
      "kms:Revoke*", "kms:Disable*", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
      "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
      "kms:CancelKeyDeletion",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.deployer_role]
    }
  }
  statement {
    sid       = "WeightReadersDecryptThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = local.weight_readers
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.us-east-1.amazonaws.com"]
    }
  }
}

# Key for logs (trail, flow logs): CloudTrail and CloudWatch Logs may use it.
resource "aws_kms_key" "logs" {
  description         = "Security logs"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.logs_key.json
}

data "aws_iam_policy_document" "logs_key" {
  statement {
    sid       = "KeyAdministration"
    actions   = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.deployer_role]
    }
  }
  statement {
    sid       = "LogServices"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com", "logs.us-east-1.amazonaws.com"]
    }
  }
}

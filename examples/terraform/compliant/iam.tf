# Roles that may read weights. People never hold weight access: the broker issues the
# weights-access role for a bounded session after two-party approval.
data "aws_iam_policy_document" "serving_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "training_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
    # Only this account's SageMaker jobs may use the role (no confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = ["111122223333"]
    }
  }
}

data "aws_iam_policy_document" "broker_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:role/access-broker-service"]
    }
  }
}

data "aws_iam_policy_document" "read_weights" {
  statement {
    sid       = "ReadWeights"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.weights.arn}/*"]
  }
  statement {
    sid       = "ListWeights"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.weights.arn]
  }
  statement {
    sid       = "DecryptWeights"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.weights.arn]
  }
}

resource "aws_iam_role" "serving" {
  name               = "weights-serving"
  assume_role_policy = data.aws_iam_policy_document.serving_trust.json
}

resource "aws_iam_role_policy" "serving_read" {
  name   = "read-weights"
  role   = aws_iam_role.serving.id
  policy = data.aws_iam_policy_document.read_weights.json
}

resource "aws_iam_role" "training" {
  name               = "weights-training"
  assume_role_policy = data.aws_iam_policy_document.training_trust.json
}

resource "aws_iam_role_policy" "training_read" {
  name   = "read-weights"
  role   = aws_iam_role.training.id
  policy = data.aws_iam_policy_document.read_weights.json
}

resource "aws_iam_role" "weights_access" {
  name                 = "weights-access"
  assume_role_policy   = data.aws_iam_policy_document.broker_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "weights_access_read" {
  name   = "read-weights"
  role   = aws_iam_role.weights_access.id
  policy = data.aws_iam_policy_document.read_weights.json
}

# The weight bucket: SSE-KMS with the customer-managed key, versioned, never public, readable
# only by the roster roles, only over TLS, and only through the approved VPC endpoint.
resource "aws_s3_bucket" "weights" {
  bucket = "frontier-lab-model-weights-prod"
  tags   = local.weight_tags
}

resource "aws_s3_bucket_server_side_encryption_configuration" "weights" {
  bucket = aws_s3_bucket.weights.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256" # PLANTED: SSE-S3, not the customer-managed key (ASL3-EN-1)
    }
  }
}

resource "aws_s3_bucket_versioning" "weights" {
  bucket = aws_s3_bucket.weights.id
  versioning_configuration {
    status = "Suspended" # PLANTED: versioning suspended (ASL2-WA-1)
  }
}

resource "aws_s3_bucket_public_access_block" "weights" {
  bucket                  = aws_s3_bucket.weights.id
  block_public_acls       = true
  block_public_policy     = false # PLANTED: bucket policy may make it public (ASL2-WA-1)
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "weights" {
  bucket = aws_s3_bucket.weights.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "weights" {
  bucket        = aws_s3_bucket.weights.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3-access/weights/"
}

resource "aws_s3_bucket_policy" "weights" {
  bucket = aws_s3_bucket.weights.id
  policy = data.aws_iam_policy_document.weights_bucket.json
}

data "aws_iam_policy_document" "weights_bucket" {
  # PLANTED: no statement denies requests without TLS (ASL2-EN-2)
  statement {
    sid       = "DenyReadsOutsideApprovedEndpoint"
    effect    = "Deny"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.weights.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "aws:SourceVpce"
      values   = [aws_vpc_endpoint.weights_s3.id]
    }
  }
  statement {
    sid       = "DenyReadsOutsideRoster"
    effect    = "Deny"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.weights.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotLike"
      variable = "aws:PrincipalArn"
      values   = local.weight_readers
    }
  }
  statement {
    sid       = "RosterReads"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.weights.arn}/*"]
    principals {
      type        = "AWS"
      identifiers = local.weight_readers
    }
  }
}

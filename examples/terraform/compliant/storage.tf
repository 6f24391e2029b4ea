# The weight bucket: SSE-KMS with the customer-managed key (and no upload may pick another
# encryption), versioned, never public, readable only by the roster roles, only over TLS, and
# only through the approved VPC endpoint.
resource "aws_s3_bucket" "weights" {
  bucket = "frontier-lab-model-weights-prod"
  tags   = local.weight_tags
}

variable "weights_sse_algorithm" {
  description = "Default encryption of the weight bucket: must stay aws:kms (with the weight key)"
  type        = string
  default     = "aws:kms"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "weights" {
  bucket = aws_s3_bucket.weights.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.weights_sse_algorithm
      kms_master_key_id = aws_kms_key.weights.arn
    }
    bucket_key_enabled       = true
    blocked_encryption_types = ["SSE-C"]
  }
}

resource "aws_s3_bucket_versioning" "weights" {
  bucket = aws_s3_bucket.weights.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "weights" {
  bucket                  = aws_s3_bucket.weights.id
  block_public_acls       = true
  block_public_policy     = true
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
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.weights.arn, "${aws_s3_bucket.weights.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  statement {
    sid       = "DenyReadsOutsideApprovedEndpoint"
    effect    = "Deny"
    actions   = local.object_reads
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
    actions   = local.object_reads
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
  # A default key binds only uploads that name no encryption: refuse SSE-S3, the AWS-managed
  # aws/s3 key (aws:kms without a key ID) and any other key. SSE-C is blocked above.
  statement {
    sid       = "DenySseS3Uploads"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.weights.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["AES256"]
    }
  }
  statement {
    sid       = "DenyUploadsUnderAnotherKey"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.weights.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms", "aws:kms:dsse"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.weights.arn]
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

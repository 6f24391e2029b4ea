# Connection and polarity traps in checkov's graph checks (issue 10 class 9). The weight
# bucket and VPC below violate what each named check is taken to prove, yet the check passes.
provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]
}

locals {
  weight_tags = { "asl:asset" = "model-weights" }
}

# CKV2_AWS_11: the weight VPC has no flow log; a flow log of another VPC mentions it in a tag.
resource "aws_vpc" "weights" {
  cidr_block = "10.40.0.0/16"
  tags       = local.weight_tags
}

resource "aws_vpc" "other" {
  cidr_block = "10.41.0.0/16"
}

resource "aws_flow_log" "other" {
  vpc_id          = aws_vpc.other.id
  traffic_type    = "ALL"
  log_destination = "arn:aws:logs:us-east-1:111122223333:log-group:flow"
  tags            = { covers = aws_vpc.weights.id }
}

# CKV2_AWS_6: the weight bucket has no public access block; another bucket's block depends on it.
resource "aws_s3_bucket" "weights" {
  bucket = "trap-weights"
  tags   = local.weight_tags
  # CKV_AWS_21: versioning "enabled" inline, but the separate resource below suspends it.
  versioning {
    enabled = true
  }
}

resource "aws_s3_bucket_versioning" "weights" {
  bucket = aws_s3_bucket.weights.id
  versioning_configuration {
    status = "Suspended"
  }
}

resource "aws_s3_bucket" "scratch" {
  bucket = "trap-scratch"
}

resource "aws_s3_bucket_public_access_block" "scratch" {
  bucket                  = aws_s3_bucket.scratch.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
  depends_on              = [aws_s3_bucket.weights]
}

# CKV_AWS_283: the weight bucket's policy lets anyone read (Principal "*", no condition);
# checkov only fails an AWS-typed "*".
resource "aws_s3_bucket_policy" "weights" {
  bucket = aws_s3_bucket.weights.id
  policy = data.aws_iam_policy_document.weights.json
}

data "aws_iam_policy_document" "weights" {
  statement {
    sid       = "AnyoneReads"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::trap-weights/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

# CKV_AWS_283 failing where it matters: the weight key's policy lets every AWS principal
# decrypt, with no condition...
resource "aws_kms_key" "weights" {
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
  tags                = local.weight_tags
}

data "aws_iam_policy_document" "key" {
  statement {
    sid       = "EveryAwsPrincipalDecrypts"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

# ...and where it does not: the same statement on a bucket that holds no weights.
resource "aws_s3_bucket_policy" "scratch" {
  bucket = aws_s3_bucket.scratch.id
  policy = data.aws_iam_policy_document.scratch.json
}

data "aws_iam_policy_document" "scratch" {
  statement {
    sid       = "EveryAwsPrincipalReads"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::trap-scratch/*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

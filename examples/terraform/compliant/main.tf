# Frontier-lab model-weight environment (compliant variant): one weight bucket encrypted with a
# customer-managed key, roles for serving, training and the two-party access broker, an
# organisation-wide trail with S3 data events, and an isolated VPC with restricted egress.
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
}

provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]

  default_tags {
    tags = {
      "owner"       = "ml-platform"
      "environment" = "prod"
    }
  }
}

data "aws_caller_identity" "current" {}

locals {
  weight_tags = {
    "asl:asset" = "model-weights"
  }
  account_id = data.aws_caller_identity.current.account_id
  # Everyone allowed to read weights; the bucket policy denies reads to anyone else.
  weight_readers = [
    aws_iam_role.serving.arn,
    aws_iam_role.training.arn,
    aws_iam_role.weights_access.arn,
  ]
  deployer_role = "arn:aws:iam::111122223333:role/terraform-deployer"
  # Every call that returns object bytes: a Deny that misses one leaves the weights readable.
  object_reads = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent", "s3:GetObjectVersionTorrent"]
}

"""AWS checks: S3, KMS, IAM access, CloudTrail, network and EC2 (one module per domain)."""

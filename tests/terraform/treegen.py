"""Generated Terraform trees for scale tests and the gate benchmark: the compliant example
plus N weight buckets, each with the five configuration resources a real one carries."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPLIANT = ROOT / "examples" / "terraform" / "compliant"


def bucket_blocks(i: int) -> str:
    """HCL for bucket number ``i``: the bucket, SSE-KMS, versioning, public access block and
    ownership controls, each naming the bucket by reference as real code does."""
    n = f"b{i:05d}"
    return f'''
resource "aws_s3_bucket" "{n}" {{
  bucket = "bench-weights-{n}"
  tags   = local.weight_tags
}}

resource "aws_s3_bucket_server_side_encryption_configuration" "{n}" {{
  bucket = aws_s3_bucket.{n}.id
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.weights.arn
    }}
    bucket_key_enabled = true
  }}
}}

resource "aws_s3_bucket_versioning" "{n}" {{
  bucket = aws_s3_bucket.{n}.id
  versioning_configuration {{
    status = "Enabled"
  }}
}}

resource "aws_s3_bucket_public_access_block" "{n}" {{
  bucket                  = aws_s3_bucket.{n}.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}}

resource "aws_s3_bucket_ownership_controls" "{n}" {{
  bucket = aws_s3_bucket.{n}.id
  rule {{
    object_ownership = "BucketOwnerEnforced"
  }}
}}
'''


def write_tree(out: Path, buckets: int) -> Path:
    """Write the compliant example plus ``buckets`` generated buckets into ``out`` (replaced)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(COMPLIANT, out)
    (out / "generated_buckets.tf").write_text("".join(bucket_blocks(i) for i in range(buckets)),
                                              encoding="utf-8")
    return out

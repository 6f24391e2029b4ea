"""Share the IAM/S3/KMS snapshot builders of ``tests/checks/aws_access`` with these tests."""

from __future__ import annotations

import sys
from pathlib import Path

# NOTE: test directories are not packages (pytest "prepend" import mode), so the sibling
# directory holding access_builders.py is put on the path explicitly.
_BUILDERS = str(Path(__file__).resolve().parent.parent / "aws_access")
if _BUILDERS not in sys.path:
    sys.path.insert(0, _BUILDERS)

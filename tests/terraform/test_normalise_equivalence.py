"""The indexed normalisation (issue 12 item 4) yields exactly the snapshot the original
linear-scan one did: same digest on the examples, the plan fixture, an ambiguous tree and a
generated 200-bucket tree. The original algorithms are kept here as the reference."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aslcheck.inventories.snapshot import Snapshot
from aslcheck.inventories.terraform.collector import _errors
from aslcheck.inventories.terraform.declared import UNKNOWN, Block, Declared
from aslcheck.inventories.terraform.hcl import load_directory
from aslcheck.inventories.terraform.normalise import normalise
from aslcheck.inventories.terraform.normalise.base import Context
from aslcheck.inventories.terraform.plan import load_plan
from tests.terraform.conftest import DATA, EXAMPLES
from tests.terraform.treegen import write_tree


def reference_managed(self: Declared, *types: str) -> Iterator[Block]:
    """The original ``Declared.managed``: sort every block on every call."""
    for b in sorted(self.blocks, key=lambda b: b.address):
        if b.mode == "managed" and b.type in types:
            yield b


def reference_find(self: Declared, address: str) -> Block | None:
    """The original ``Declared.find``: a linear scan."""
    for b in self.blocks:
        if b.address == address:
            return b
    return None


def reference_satellites(self: Context, types: Iterable[str], arg: str, *targets: Any,
                         required: bool = True) -> tuple[list[Block], bool]:
    """The original ``Context.satellites``: scan every block of ``types`` per parent."""
    found: list[Block] = []
    ambiguous = False
    wanted = {t for t in targets if isinstance(t, str)}
    for block in self.declared.managed(*types):
        if not required and not block.body.has(arg):
            continue
        value = block.body.get(arg, UNKNOWN)
        if not block.expanded or value is UNKNOWN or not isinstance(value, (str, list)):
            ambiguous = True
            continue
        values = value if isinstance(value, list) else [value]
        if any(v is UNKNOWN for v in values):
            ambiguous = True
        elif wanted & set(values):
            found.append(block)
    return found, ambiguous


AMBIGUOUS = '''
provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]
}
variable "which" { type = string }
resource "aws_s3_bucket" "a" {
  bucket = "amb-a"
  tags   = { "asl:asset" = "model-weights" }
}
resource "aws_s3_bucket" "b" { bucket_prefix = "amb-b" }
resource "aws_s3_bucket_versioning" "a" {
  bucket = aws_s3_bucket.a.id
  versioning_configuration { status = "Enabled" }
}
resource "aws_s3_bucket_versioning" "unknown" {
  bucket = var.which
  versioning_configuration { status = "Suspended" }
}
resource "aws_s3_bucket_policy" "b1" {
  bucket = aws_s3_bucket.b.id
  policy = "{}"
}
resource "aws_s3_bucket_policy" "b2" {
  bucket = aws_s3_bucket.b.bucket
  policy = "{}"
}
resource "aws_vpc" "v" { cidr_block = "10.0.0.0/16" }
resource "aws_security_group" "g" { vpc_id = aws_vpc.v.id }
resource "aws_security_group_rule" "e" {
  type              = "egress"
  security_group_id = aws_security_group.g.id
  protocol          = "-1"
  from_port         = 0
  to_port           = 0
  cidr_blocks       = ["0.0.0.0/0"]
}
resource "aws_security_group_rule" "x" {
  count             = 2
  type              = "ingress"
  security_group_id = aws_security_group.g.id
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["10.0.0.0/8"]
}
resource "aws_subnet" "s" {
  vpc_id                  = aws_vpc.v.id
  map_public_ip_on_launch = true
}
resource "aws_instance" "i" {
  subnet_id = aws_subnet.s.id
  metadata_options { http_tokens = "required" }
}
resource "aws_iam_user" "u" { name = "u" }
resource "aws_iam_group_membership" "m" {
  name  = "m"
  users = [aws_iam_user.u.name, var.which]
  group = "g"
}
'''


def _snapshot(declared: Declared) -> Snapshot:
    return Snapshot(resources=tuple(normalise(declared)), errors=tuple(_errors(declared)))


def _both(load: Any) -> tuple[str, str]:
    """Digests of the optimised and the reference normalisation of the same parsed code."""
    declared = load()
    optimised = _snapshot(declared)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Declared, "managed", reference_managed)
        mp.setattr(Declared, "find", reference_find)
        mp.setattr(Context, "satellites", reference_satellites)
        reference = _snapshot(declared)
    # Compared as documents first, so a difference shows where it is.
    assert optimised.to_json() == reference.to_json()
    return optimised.digest(), reference.digest()


@pytest.mark.parametrize("name", ["compliant", "violating"])
def test_examples_normalise_identically(name: str) -> None:
    optimised, reference = _both(lambda: load_directory(str(EXAMPLES / name)))
    assert optimised == reference


def test_plan_normalises_identically() -> None:
    optimised, reference = _both(lambda: load_plan(str(DATA / "plan" / "weights-plan.json")))
    assert optimised == reference


def test_ambiguous_tree_normalises_identically(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(AMBIGUOUS)
    optimised, reference = _both(lambda: load_directory(str(tmp_path)))
    assert optimised == reference


def test_generated_200_bucket_tree_normalises_identically(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", 200)
    declared = load_directory(str(tree))
    assert sum(1 for _ in declared.managed("aws_s3_bucket")) == 202  # + weights and logs
    optimised, reference = _both(lambda: declared)
    assert optimised == reference

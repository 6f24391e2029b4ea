"""Whether a bucket refuses uploads that would not be encrypted under its customer-managed key.

A bucket's default encryption applies only to uploads that name no encryption. A writer can
still choose per object (PutObject, CopyObject, multipart uploads and POST are all authorised as
``s3:PutObject`` and carry the same headers):

- ``x-amz-server-side-encryption: AES256`` (SSE-S3: no key policy stands between a reader and
  the plaintext);
- ``aws:kms`` or ``aws:kms:dsse`` without a key ID: S3 then uses the AWS-managed ``aws/s3`` key
  (PutObject reference, ``SSEKMSKeyId``);
- ``aws:kms`` / ``aws:kms:dsse`` with another key ID (any other key, an alias name, which KMS
  resolves in the *requester's* account);
- SSE-C (``x-amz-server-side-encryption-customer-algorithm``): a key S3 never stores.

Each shape is a request context; the bucket is protected only when, for every shape, some
bucket-policy ``Deny`` certainly applies to every principal and every object
(:mod:`aslcheck.checks.aws.access.policy`, conditions evaluated three-valued), or, for SSE-C,
the bucket's ``BlockedEncryptionTypes`` lists ``SSE-C``. Condition keys other than the
encryption headers are unknown (a deny narrowed by them does not cover every request).
A key-ID condition with wildcards cannot be proved to exclude every other key: undecidable.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from aslcheck.checks.aws.access.conditions import (
    ContextValue,
    Missing,
    Tri,
    evaluate_conditions,
)
from aslcheck.checks.aws.access.matching import has_wildcard
from aslcheck.checks.aws.access.policy import Effect, Policy, Statement, parse_policy

SSE = "s3:x-amz-server-side-encryption"
KEY_ID = "s3:x-amz-server-side-encryption-aws-kms-key-id"
SSE_C = "s3:x-amz-server-side-encryption-customer-algorithm"
_HEADERS = (SSE, KEY_ID, SSE_C)
_PROBE = "arn:aws:kms:us-east-1:000000000000:key/aslcheck-probe-another-key"


@dataclass(frozen=True)
class Shape:
    """One kind of upload that would not be encrypted under the bucket's key."""

    label: str
    """What the writer sends."""
    headers: Mapping[str, str]
    """Encryption headers present (others absent)."""


class _Request:
    """The request context of one shape: its headers known, every other key unknown."""

    def __init__(self, shape: Shape) -> None:
        self._headers = shape.headers

    def lookup(self, key: str) -> ContextValue:
        """Header values are known (present or absent); nothing else is."""
        if key in _HEADERS:
            value = self._headers.get(key)
            return (value,) if value is not None else Missing.ABSENT
        return Missing.UNKNOWN


def _key_values(policy: Policy) -> tuple[set[str], bool]:
    """Literal values of key-ID conditions, and whether any has a wildcard."""
    values: set[str] = set()
    wild = False
    for st in policy.statements:
        for c in st.conditions:
            if c.key.lower() == KEY_ID:
                for v in c.values:
                    wild = wild or has_wildcard(v)
                    values.add(v)
    return values, wild


def shapes(policy: Policy, good_keys: Collection[str]) -> list[Shape]:
    """Every upload shape that must be refused (other keys probed by the values the policy
    names and one it does not)."""
    named, _ = _key_values(policy)
    probe = _PROBE
    while probe in named:
        probe += "-x"
    others = sorted(v for v in named if v not in good_keys) + [probe]
    out = [Shape("SSE-S3 (x-amz-server-side-encryption: AES256)", {SSE: "AES256"}),
           Shape("SSE-C (a customer-provided key)", {SSE_C: "AES256"})]
    for algorithm in ("aws:kms", "aws:kms:dsse"):
        out.append(Shape(f"{algorithm} without a key ID (the AWS-managed aws/s3 key)",
                         {SSE: algorithm}))
        out.extend(Shape(f"{algorithm} with key {k}", {SSE: algorithm, KEY_ID: k}) for k in others)
    return out


def _certainly_denies(st: Statement, objects: str, request: _Request) -> bool:
    if st.effect is not Effect.DENY or st.problems or st.not_principal is not None:
        return False
    if st.principal is None or not st.principal.wildcard:
        return False
    if not st.action_matches("s3:putobject") or st.uses_variables():
        return False
    if not st.resource_applies(objects, True, certain=True):
        return False
    return evaluate_conditions(st.conditions, request)[0] is Tri.TRUE


@dataclass(frozen=True)
class UploadVerdict:
    """Whether every upload with other encryption is refused."""

    refused: bool | None
    """True: all shapes refused; False: some shape is not; None: cannot be proved either way."""
    reason: str
    """Why."""
    shapes: Mapping[str, str]
    """Shape -> the statement (or setting) refusing it, or ``not refused``."""


def judge_uploads(policy_doc: Any, bucket_arn: str, good_keys: Collection[str],
                  blocked_types: Any) -> UploadVerdict:
    """Judge a bucket policy (``None``: no policy) and ``BlockedEncryptionTypes``."""
    policy = parse_policy(policy_doc) if policy_doc is not None else Policy(())
    objects = bucket_arn + "/"
    blocked = isinstance(blocked_types, list) and "SSE-C" in blocked_types
    result: dict[str, str] = {}
    missed: list[str] = []
    for shape in shapes(policy, good_keys):
        request = _Request(shape)
        if SSE_C in shape.headers and blocked:
            result[shape.label] = "BlockedEncryptionTypes SSE-C"
            continue
        hit = next((st.ref for st in policy.relevant("s3:putobject")
                    if _certainly_denies(st, objects, request)), None)
        result[shape.label] = hit or "not refused"
        if hit is None:
            missed.append(shape.label)
    if not missed:
        return UploadVerdict(True, "the bucket policy refuses every upload not encrypted "
                                   "under its key", result)
    _, wild = _key_values(policy)
    if wild and all("with key" in m for m in missed):
        return UploadVerdict(None, "a key-ID condition uses wildcards: cannot prove that it "
                                   f"refuses every other key ({'; '.join(missed)})", result)
    return UploadVerdict(False, "uploads may choose their own encryption; not refused: "
                                f"{'; '.join(missed)}", result)

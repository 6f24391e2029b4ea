"""Terse builders of hand-made IAM/S3/KMS/Organizations snapshots (AWS attribute model)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aslcheck.controls.config import PARAM_SPECS, Access, Config, Scope
from aslcheck.inventories.snapshot import CollectionError, CollectorRun, Resource, Snapshot

ACCT = "111111111111"
OTHER = "222222222222"
MGMT = "999999999999"
STRANGER = "333333333333"
REGION = "us-east-1"
ORG = "o-abc123"
WEIGHT_TAGS = {"asl:asset": "model-weights"}
IAM_ENTITIES = ("aws.iam.user", "aws.iam.group", "aws.iam.role", "aws.iam.policy")
Doc = dict[str, Any]


def doc(*statements: Mapping[str, Any]) -> Doc:
    """A policy document."""
    return {"Version": "2012-10-17", "Statement": [dict(s) for s in statements]}


def _listify(v: str | Sequence[str]) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def allow(actions: str | Sequence[str], resources: str | Sequence[str] | None = "*", **extra: Any) -> Doc:
    """An Allow statement (``resources=None`` omits Resource, as in trust policies)."""
    st: Doc = {"Effect": "Allow", "Action": _listify(actions)}
    if resources is not None:
        st["Resource"] = _listify(resources)
    st.update(extra)
    return st


def deny(actions: str | Sequence[str], resources: str | Sequence[str] | None = "*", **extra: Any) -> Doc:
    """A Deny statement."""
    st = allow(actions, resources, **extra)
    st["Effect"] = "Deny"
    return st


def aws(*arns: str) -> Doc:
    """``{"AWS": [...]}`` principal."""
    return {"AWS": list(arns)}


def user_arn(name: str, account: str = ACCT) -> str:
    """IAM user ARN."""
    return f"arn:aws:iam::{account}:user/{name}"


def role_arn(name: str, account: str = ACCT) -> str:
    """IAM role ARN."""
    return f"arn:aws:iam::{account}:role/{name}"


def root(account: str = ACCT) -> str:
    """Account root ARN."""
    return f"arn:aws:iam::{account}:root"


def policy_arn(name: str, account: str = ACCT) -> str:
    """Customer-managed policy ARN."""
    return f"arn:aws:iam::{account}:policy/{name}"


def bucket_arn(name: str) -> str:
    """Bucket ARN."""
    return f"arn:aws:s3:::{name}"


def key_arn(key_id: str, account: str = ACCT) -> str:
    """KMS key ARN."""
    return f"arn:aws:kms:{REGION}:{account}:key/{key_id}"


def _res(kind: str, ident: str, attrs: Mapping[str, Any], *, account: str, region: str,
         tags: Mapping[str, str] | None, drop: Iterable[str]) -> Resource:
    dropped = set(drop)
    return Resource(kind=kind, id=ident, source="aws",
                    attributes={k: v for k, v in attrs.items() if k not in dropped},
                    tags=tags, account=account, region=region)


def user(name: str, *, inline: Mapping[str, Doc] | None = None, attached: Sequence[str] = (),
         groups: Sequence[str] = (), boundary: str | None = None, account: str = ACCT,
         mfa: Sequence[Mapping[str, Any]] = (), keys: Sequence[Mapping[str, Any]] = (),
         password: bool = False, tags: Mapping[str, str] | None = None, drop: Iterable[str] = ()) -> Resource:
    """An ``aws.iam.user``."""
    return _res("aws.iam.user", user_arn(name, account), {
        "name": name, "path": "/", "groups": list(groups), "inline_policies": dict(inline or {}),
        "attached_policies": list(attached), "permissions_boundary": boundary,
        "mfa_devices": [dict(m) for m in mfa], "access_keys": [dict(k) for k in keys],
        "password_enabled": password, "created": "2025-01-01T00:00:00Z",
    }, account=account, region="global", tags={} if tags is None else tags, drop=drop)


def group(name: str, *, inline: Mapping[str, Doc] | None = None, attached: Sequence[str] = (),
          account: str = ACCT) -> Resource:
    """An ``aws.iam.group``."""
    return _res("aws.iam.group", f"arn:aws:iam::{account}:group/{name}",
                {"name": name, "inline_policies": dict(inline or {}), "attached_policies": list(attached)},
                account=account, region="global", tags={}, drop=())


def role(name: str, *, trust: Doc, inline: Mapping[str, Doc] | None = None, attached: Sequence[str] = (),
         boundary: str | None = None, account: str = ACCT, max_session: int = 3600, path: str = "/",
         tags: Mapping[str, str] | None = None, drop: Iterable[str] = ()) -> Resource:
    """An ``aws.iam.role``."""
    full = f"{path.strip('/')}/{name}" if path != "/" else name
    return _res("aws.iam.role", role_arn(full, account), {
        "name": name, "path": path, "trust_policy": trust, "inline_policies": dict(inline or {}),
        "attached_policies": list(attached), "permissions_boundary": boundary,
        "max_session_duration": max_session, "instance_profiles": [],
    }, account=account, region="global", tags={} if tags is None else tags, drop=drop)


def managed(name: str, document: Doc, *, account: str = ACCT) -> Resource:
    """A customer-managed ``aws.iam.policy``."""
    return _res("aws.iam.policy", policy_arn(name, account), {
        "name": name, "aws_managed": False, "default_version": "v1", "document": document,
    }, account=account, region="global", tags={}, drop=())


def trusting(*principals: str, actions: str | Sequence[str] = "sts:AssumeRole",
             condition: Mapping[str, Any] | None = None, services: Sequence[str] = ()) -> Doc:
    """A trust policy admitting AWS principals (and optionally services)."""
    principal: Doc = {}
    if principals:
        principal["AWS"] = list(principals)
    if services:
        principal["Service"] = list(services)
    st: Doc = {"Effect": "Allow", "Principal": principal, "Action": _listify(actions)}
    if condition:
        st["Condition"] = dict(condition)
    return doc(st)


def bucket(name: str, *, policy: Doc | None = None, weights: bool = True, account: str = ACCT,
           kms_key: str | None = None, algorithm: str | None = None,
           ownership: str | None = "BucketOwnerEnforced", tags: Mapping[str, str] | bool | None = True,
           drop: Iterable[str] = ()) -> Resource:
    """An ``aws.s3.bucket`` (``tags=None`` models unreadable tags)."""
    enc = {"algorithm": algorithm or ("aws:kms" if kms_key else "AES256"), "kms_key_id": kms_key,
           "bucket_key_enabled": False, "explicit": True}
    real_tags = None if tags is None else (dict(WEIGHT_TAGS) if weights else {})
    return _res("aws.s3.bucket", bucket_arn(name), {
        "name": name, "region": REGION, "encryption": enc, "policy": policy, "ownership": ownership,
        "public_access_block": None, "versioning": "Enabled", "acl_grants": [],
    }, account=account, region=REGION, tags=real_tags, drop=drop)


def grant(grantee: str, *, ops: Sequence[str] = ("Decrypt",), grant_id: str = "g-1",
          constraints: Mapping[str, Any] | None = None) -> Doc:
    """A KMS grant entry."""
    return {"grant_id": grant_id, "grantee_principal": grantee, "retiring_principal": None,
            "operations": list(ops), "constraints": dict(constraints) if constraints else None}


def kms_key(key_id: str, *, policy: Doc, grants: Sequence[Doc] = (), weights: bool = False,
            account: str = ACCT, aliases: Sequence[str] = (), manager: str = "CUSTOMER",
            state: str = "Enabled", rotation: bool | None = True, tags: Mapping[str, str] | bool | None = True,
            drop: Iterable[str] = ()) -> Resource:
    """An ``aws.kms.key``."""
    real_tags = None if tags is None else (dict(WEIGHT_TAGS) if weights else {})
    return _res("aws.kms.key", key_arn(key_id, account), {
        "key_id": key_id, "key_manager": manager, "key_state": state, "key_spec": "SYMMETRIC_DEFAULT",
        "key_usage": "ENCRYPT_DECRYPT", "origin": "AWS_KMS", "custom_key_store_id": None,
        "rotation_enabled": rotation, "policy": policy, "grants": [dict(g) for g in grants],
        "aliases": list(aliases),
    }, account=account, region=REGION, tags=real_tags, drop=drop)


def default_key_policy(account: str = ACCT, *extra: Doc) -> Doc:
    """The default key policy: the account root gets kms:* (enables IAM policies)."""
    return doc({"Sid": "EnableIAM", "Effect": "Allow", "Principal": {"AWS": root(account)},
                "Action": "kms:*", "Resource": "*"}, *extra)


def org_account(account: str, path: Sequence[str], *, org: str = ORG, mgmt: str = MGMT) -> Resource:
    """An ``aws.organizations.account``."""
    return _res("aws.organizations.account", f"arn:aws:organizations::{mgmt}:account/{org}/{account}", {
        "account_id": account, "parent_path": list(path), "organization_id": org, "name": account,
    }, account=mgmt, region="global", tags=None, drop=())


def org_policy(name: str, document: Doc, targets: Sequence[str], *, kind: str = "SERVICE_CONTROL_POLICY",
               mgmt: str = MGMT) -> Resource:
    """An ``aws.organizations.policy`` (SCP by default)."""
    return _res("aws.organizations.policy", f"arn:aws:organizations::{mgmt}:policy/{ORG}/scp/{name}", {
        "type": kind, "name": name, "document": document, "targets": list(targets),
    }, account=mgmt, region="global", tags=None, drop=())


FULL_ACCESS = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
"""The FullAWSAccess SCP."""


def snap(*resources: Resource, errors: Iterable[CollectionError] = (), kinds: Iterable[str] | None = None,
         ended: str = "2026-01-01T00:01:00Z") -> Snapshot:
    """A snapshot from one aws run listing every kind it holds (or ``kinds``) completely.

    IAM entities are listed by one sweep, so holding any of them lists all four. Organizations
    policies are always listed (a standalone account lists none: no SCP applies), so the root
    user's reach is decided unless ``kinds`` says otherwise.
    """
    listed = set(kinds) if kinds is not None else {r.kind for r in resources} | {"aws.organizations.policy"}
    if kinds is None and listed & set(IAM_ENTITIES):
        listed |= set(IAM_ENTITIES)
    run = CollectorRun("aws", "test", (ACCT,), tuple(sorted(listed)), "2026-01-01T00:00:00Z", ended)
    return Snapshot(resources=tuple(resources), errors=tuple(errors), runs=(run,))


def config(*, roster: Sequence[str] = (), brokers: Sequence[str] = (), broker_principals: Sequence[str] = (),
           humans: Sequence[str] = (), **params: int | None) -> Config:
    """The test organisation's config (weights tagged ``asl:asset=model-weights``)."""
    values = {n: s.default for n, s in PARAM_SPECS.items()}
    values.update(params)
    return Config(scope=Scope(weight_tags=WEIGHT_TAGS, aws=True),
                  access=Access(roster=tuple(roster), broker_roles=tuple(brokers),
                                broker_principals=tuple(broker_principals), human_patterns=tuple(humans)),
                  parameters=values)

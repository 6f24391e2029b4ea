"""One request case of the differential test against @cloud-copilot/iam-simulate, rendered both ways.

Each :class:`SimCase` is one principal making one request on one resource, with its identity
policies, permissions boundary, resource policy and the SCPs/RCPs of an organisation. It
renders two ways: as aslcheck snapshot resources (evaluated by our engine) and as
iam-simulate ``Simulation`` objects, one per *context variant*: our engine decides the keys
the snapshot tells (principal ARN, account, organisation, tags) and answers MAYBE on the others
(``aws:SourceVpce``, MFA, ``kms:ViaService``...), so the oracle is asked with those keys absent,
set to each value the policies test, and with TLS on and off. Soundness means: whenever some
variant is Allowed, we do not say NO.

The cases themselves are in :mod:`iamsim_corpus`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from access_builders import (
    REGION,
    bucket,
    doc,
    kms_key,
    managed,
    org_account,
    org_policy,
    policy_arn,
    role,
    role_arn,
    user,
    user_arn,
)

from aslcheck.inventories.snapshot import Resource

ORG = "o-abc123"
BUCKET = "weights"
OBJECT = f"arn:aws:s3:::{BUCKET}/model.bin"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
Doc = dict[str, Any]

# Keys our engine decides from the snapshot; every other key is varied in the oracle's context.
DECIDED = frozenset({
    "aws:principalarn", "aws:principalaccount", "kms:calleraccount", "aws:principalorgid",
    "aws:principalorgpaths", "aws:principaltype", "aws:username", "aws:principalisawsservice",
    "aws:resourceaccount", "s3:resourceaccount", "aws:resourceorgid", "aws:securetransport",
})


@dataclass(frozen=True)
class SimCase:
    """One request and everything that decides it."""

    id: str
    source: str
    """Documentation page title, or ``random`` / ``adversarial``."""
    principal_kind: str
    """``user`` or ``role`` (an assumed-role session of it)."""
    principal_account: str
    service: str
    """``s3``, ``kms`` or ``sts``."""
    action: str
    resource_account: str
    identity: tuple[Doc, ...] = ()
    boundary: Doc | None = None
    resource_policy: Doc | None = None
    scps: tuple[tuple[Doc, ...], ...] = ()
    """Per level (root, OU, account) of the principal's account; empty: no organisation."""
    rcps: tuple[tuple[Doc, ...], ...] = ()
    """Per level of the resource's account (FullAWSAccess is added at every level, as AWS does)."""
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def principal_arn(self) -> str:
        name = "p"
        return user_arn(name, self.principal_account) if self.principal_kind == "user" else \
            role_arn(name, self.principal_account)

    @property
    def caller_arn(self) -> str:
        """What iam-simulate is told the caller is (a role acts through a session)."""
        return self.callers()[0]

    def callers(self) -> list[str]:
        """Caller ARNs to try: the user, or a session of the role under each name the policies
        mention (the caller picks its session name)."""
        if self.principal_kind == "user":
            return [self.principal_arn]
        prefix = f"arn:aws:sts::{self.principal_account}:assumed-role/p/"
        names = ["session"]
        text = repr((self.identity, self.boundary, self.resource_policy, self.scps, self.rcps))
        for part in text.split(prefix)[1:]:
            name = part.split("'", 1)[0].split('"', 1)[0]
            if name and name not in names and "*" not in name:
                names.append(name)
        return [prefix + n for n in names]

    @property
    def resource(self) -> str:
        if self.service == "s3":
            return OBJECT
        if self.service == "kms":
            return f"arn:aws:kms:{REGION}:{self.resource_account}:key/{KEY_ID}"
        return role_arn("target", self.resource_account)

    @property
    def in_org(self) -> bool:
        return bool(self.scps or self.rcps)

    # -- our side --------------------------------------------------------------------------

    def resources(self) -> list[Resource]:
        """The snapshot resources of the case."""
        out: list[Resource] = []
        inline = {f"p{i}": d for i, d in enumerate(self.identity)}
        boundary = None
        if self.boundary is not None:
            out.append(managed("boundary", self.boundary, account=self.principal_account))
            boundary = policy_arn("boundary", self.principal_account)
        if self.principal_kind == "user":
            out.append(user("p", inline=inline, boundary=boundary, account=self.principal_account,
                            tags=dict(self.tags)))
        else:
            out.append(role("p", trust=doc(), inline=inline, boundary=boundary, account=self.principal_account,
                            tags=dict(self.tags)))
        if self.service == "s3":
            out.append(bucket(BUCKET, policy=self.resource_policy, account=self.resource_account))
        elif self.service == "kms":
            out.append(kms_key(KEY_ID, policy=self.resource_policy or doc(), account=self.resource_account))
        else:
            out.append(role("target", trust=self.resource_policy or doc(), account=self.resource_account))
        if self.resource_account != self.principal_account:
            # The other account's IAM is collected too (its principals are known): only the
            # principal under test acts.
            out.append(user("idle", account=self.resource_account))
        if self.in_org:
            for acct in {self.principal_account, self.resource_account}:
                out.append(org_account(acct, ["r-1", f"ou-{acct}"]))
            self._org_policies(out)
        return out

    def _org_policies(self, out: list[Resource]) -> None:
        levels = ("r-1", f"ou-{self.principal_account}", self.principal_account)
        scps = self.scps or ((FULL,), (FULL,), (FULL,))
        for level, docs in zip(levels, scps, strict=True):
            for i, d in enumerate(docs):
                out.append(org_policy(f"scp-{level}-{i}", d, [level]))
        if self.principal_account != self.resource_account:
            other = ("r-1", f"ou-{self.resource_account}", self.resource_account)
            for level in other[1:]:
                out.append(org_policy(f"scp-{level}-full", FULL, [level]))
        rlevels = ("r-1", f"ou-{self.resource_account}", self.resource_account)
        rcps = self.rcps or ((), (), ())
        for level, docs in zip(rlevels, rcps, strict=True):
            out.append(org_policy(f"rcp-{level}-full", FULL, [level], kind="RESOURCE_CONTROL_POLICY"))
            for i, d in enumerate(docs):
                out.append(org_policy(f"rcp-{level}-{i}", d, [level], kind="RESOURCE_CONTROL_POLICY"))

    # -- the oracle's side -------------------------------------------------------------------

    def base_context(self, tls: bool) -> dict[str, Any]:
        """The keys our engine decides, with the values it decides them to."""
        ctx: dict[str, Any] = {
            "aws:PrincipalArn": self.principal_arn,
            "aws:PrincipalAccount": self.principal_account,
            "aws:PrincipalType": "User" if self.principal_kind == "user" else "AssumedRole",
            "aws:PrincipalIsAWSService": "false",
            "aws:SecureTransport": "true" if tls else "false",
            "aws:ResourceAccount": self.resource_account,
        }
        if self.principal_kind == "user":
            ctx["aws:username"] = "p"
        if self.service == "kms":
            ctx["kms:CallerAccount"] = self.principal_account
        if self.service == "s3":
            ctx["s3:ResourceAccount"] = self.resource_account
        if self.in_org:
            ctx["aws:PrincipalOrgID"] = ORG
            ctx["aws:PrincipalOrgPaths"] = [f"{ORG}/r-1/ou-{self.principal_account}/"]
            ctx["aws:ResourceOrgID"] = ORG
        for k, v in self.tags.items():
            ctx[f"aws:PrincipalTag/{k}"] = v
        return ctx

    def unknown_keys(self) -> dict[str, list[str]]:
        """Condition keys the case's policies test that our engine does not decide, with their values."""
        found: dict[str, list[str]] = {}
        docs = [*self.identity, self.boundary, self.resource_policy, *[d for lvl in self.scps for d in lvl],
                *[d for lvl in self.rcps for d in lvl]]
        for d in docs:
            for st in (d or {}).get("Statement", []) if isinstance(d, dict) else []:
                cond = st.get("Condition") if isinstance(st, dict) else None
                if not isinstance(cond, dict):
                    continue
                for block in cond.values():
                    if not isinstance(block, dict):
                        continue
                    for key, vals in block.items():
                        low = str(key).lower()
                        if low in DECIDED or low.startswith("aws:principaltag/"):
                            continue
                        values = vals if isinstance(vals, list) else [vals]
                        found.setdefault(str(key), []).extend(str(v).lower() if isinstance(v, bool) else str(v)
                                                              for v in values)
        return found

    def variants(self) -> Iterator[dict[str, Any]]:
        """Contexts to ask the oracle: TLS on/off x unknown keys absent / at each tested value."""
        unknown = self.unknown_keys()
        extras: list[dict[str, Any]] = [{}]
        width = max((len(v) for v in unknown.values()), default=0)
        for i in range(width):
            extras.append({k: vals[min(i, len(vals) - 1)] for k, vals in unknown.items()})
        if unknown:
            extras.append({k: _other_value(k) for k in unknown})
        for tls in (True, False):
            for extra in extras:
                yield {**self.base_context(tls), **extra}

    def simulations(self) -> Iterator[dict[str, Any]]:
        """iam-simulate ``Simulation`` objects, one per context variant."""
        scp_levels = ("r-1", f"ou-{self.principal_account}", self.principal_account)
        rcp_levels = ("r-1", f"ou-{self.resource_account}", self.resource_account)
        scps = [{"orgIdentifier": lvl, "policies": [{"name": f"scp{i}", "policy": d} for i, d in enumerate(docs)]}
                for lvl, docs in zip(scp_levels, self.scps, strict=True)] if self.scps else []
        rcps = [{"orgIdentifier": lvl, "policies": [{"name": f"rcp{i}", "policy": d} for i, d in enumerate(docs)]}
                for lvl, docs in zip(rcp_levels, self.rcps, strict=True)] if self.rcps else []
        for caller, ctx in ((c, x) for c in self.callers() for x in self.variants()):
            sim: dict[str, Any] = {
                "request": {"principal": caller, "action": self.action,
                            "resource": {"resource": self.resource, "accountId": self.resource_account},
                            "contextVariables": ctx},
                "identityPolicies": [{"name": f"p{i}", "policy": d} for i, d in enumerate(self.identity)],
                "serviceControlPolicies": scps,
                "resourceControlPolicies": rcps,
            }
            if self.boundary is not None:
                sim["permissionBoundaryPolicies"] = [{"name": "boundary", "policy": self.boundary}]
            if self.resource_policy is not None:
                sim["resourcePolicy"] = self.resource_policy
            yield sim


def _other_value(key: str) -> str:
    low = key.lower()
    if low in ("aws:multifactorauthpresent", "aws:viaawsservice"):
        return "false"
    if low == "aws:sourceip":
        return "198.51.100.7"
    if low.endswith("age"):
        return "999999"
    return "not-a-tested-value"


def _st(effect: str, actions: str | Sequence[str], resources: str | Sequence[str] | None = "*", **extra: Any) -> Doc:
    st: Doc = {"Effect": effect, "Action": [actions] if isinstance(actions, str) else list(actions)}
    if resources is not None:
        st["Resource"] = [resources] if isinstance(resources, str) else list(resources)
    st.update(extra)
    return st


def _d(*stmts: Doc) -> Doc:
    return {"Version": "2012-10-17", "Statement": list(stmts)}

"""Differential check: the effective-access speed-ups change no answer.

Generates random, adversarial IAM snapshots (wildcard and ``?`` resources, ``NotResource``,
policy variables, resource policies naming roots, roles, sessions, wildcards, ``NotPrincipal``,
unreadable statements, KMS grants to roles, roots and sessions, missing policies, role chains)
and compares, for every bucket and key, the analysis with the candidate index and the shared
policy parsing against the analysis that evaluates every principal and parses every document.
Any difference is printed and the exit status is 1.

    PYTHONPATH=. python bench/access_equivalence.py --snapshots 300
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any
from unittest import mock

from aslcheck.checks.aws.access import AccessAnalyzer, Unevaluable, bucket_read, key_decrypt
from aslcheck.checks.aws.access.candidates import ReaderIndex
from aslcheck.checks.aws.access.directory import Directory
from aslcheck.checks.aws.access.policy import parse_policy
from aslcheck.inventories.snapshot import CollectorRun, Resource, Snapshot

ACCTS = ("111111111111", "222222222222")
BUCKETS = ("weights", "weights-2", "data", "w")
NAMES = ("a", "ab", "b", "serving", "x")


def _res_pattern(rnd: random.Random) -> str:
    b = rnd.choice(BUCKETS)
    return rnd.choice([
        "*", f"arn:aws:s3:::{b}/*", f"arn:aws:s3:::{b}*", f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/model.bin",
        "arn:aws:s3:::*/*", "arn:aws:s3:::w?ights/*", f"arn:aws:s3:::{b}/${{aws:username}}/*",
        f"arn:aws:kms:us-east-1:{rnd.choice(ACCTS)}:key/k{rnd.randrange(2)}", "arn:aws:kms:*:*:key/*",
        f"arn:aws:iam::{rnd.choice(ACCTS)}:role/{rnd.choice(NAMES)}*", "arn:aws:s3:::we*s/*"])


def _principal(rnd: random.Random) -> Any:
    acct = rnd.choice(ACCTS)
    name = rnd.choice(NAMES)
    return rnd.choice([
        "*", {"AWS": f"arn:aws:iam::{acct}:root"}, {"AWS": acct}, {"AWS": f"arn:aws:iam::{acct}:role/{name}"},
        {"AWS": f"arn:aws:sts::{acct}:assumed-role/{name}/sess"}, {"AWS": f"arn:aws:iam::{acct}:role/{name}*"},
        {"AWS": f"arn:aws:iam::{acct}:user/u{rnd.randrange(3)}"}, {"AWS": "*"}, {"Service": "ec2.amazonaws.com"},
        {"AWS": "arn:aws:iam::999999999999:root"}, {"CanonicalUser": "abc"}, 42,
        {"Service": "lambda.amazonaws.com"}, {"Service": "rolesanywhere.amazonaws.com"}])


def _statement(rnd: random.Random, resource_policy: bool) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": rnd.choice(["Allow", "Allow", "Allow", "Deny"])}
    st["Action"] = rnd.choice([["s3:GetObject"], ["s3:*"], ["*"], ["kms:Decrypt"], ["kms:*"], ["sts:AssumeRole"],
                               ["s3:Get*", "kms:Decrypt"], ["ec2:Describe*"],
                               # escalation routes (issue 10, class 2) exercise the holder indexes
                               ["iam:PassRole", "ec2:RunInstances"], ["iam:PutUserPolicy", "iam:PutRolePolicy"],
                               ["s3:PutBucketPolicy"], ["kms:PutKeyPolicy", "kms:CreateGrant"],
                               ["sts:GetFederationToken", "s3:GetObjectVersion"], ["iam:UpdateAssumeRolePolicy"],
                               ["ssm:StartSession", "lambda:UpdateFunctionCode"], ["iam:CreateAccessKey"]])
    if rnd.random() < 0.1:
        st["NotAction"] = st.pop("Action")
    res = [_res_pattern(rnd) for _ in range(rnd.randrange(1, 3))]
    roll = rnd.random()
    if roll < 0.1:
        st["NotResource"] = res
    elif roll < 0.15:
        pass  # no Resource at all
    else:
        st["Resource"] = res
    if resource_policy:
        roll = rnd.random()
        if roll < 0.1:
            st["NotPrincipal"] = _principal(rnd)
        elif roll < 0.95:
            st["Principal"] = _principal(rnd)
    if rnd.random() < 0.15:
        st["Condition"] = rnd.choice([{"Bool": {"aws:SecureTransport": "false"}},
                                      {"StringEquals": {"aws:PrincipalAccount": rnd.choice(ACCTS)}},
                                      {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/a*"}},
                                      {"StringEquals": {"aws:SourceVpce": "vpce-1"}}])
    if rnd.random() < 0.03:
        st["Effect"] = "Maybe"  # an unreadable statement
    return st


def _doc(rnd: random.Random, resource_policy: bool = False) -> Any:
    if rnd.random() < 0.03:
        return "not a policy"
    return {"Version": "2012-10-17",
            "Statement": [_statement(rnd, resource_policy) for _ in range(rnd.randrange(1, 4))]}


def _r(kind: str, ident: str, acct: str, attrs: dict[str, Any], region: str = "global") -> Resource:
    return Resource(kind, ident, "aws", attrs, {}, acct, region)


def snapshot(seed: int) -> Snapshot:
    """One random snapshot."""
    rnd = random.Random(seed)
    out: list[Resource] = []
    managed = []
    for i in range(rnd.randrange(0, 4)):
        acct = rnd.choice(ACCTS)
        arn = f"arn:aws:iam::{acct}:policy/p{i}"
        managed.append(arn)
        out.append(_r("aws.iam.policy", arn, acct, {"name": f"p{i}", "document": _doc(rnd)}))
    shared = _doc(rnd)
    for acct in ACCTS:
        for name in NAMES:
            if rnd.random() < 0.3:
                continue
            attrs: dict[str, Any] = {
                "name": name, "path": "/", "trust_policy": _doc(rnd, True) if rnd.random() < 0.8 else shared,
                "inline_policies": {"p": _doc(rnd)} if rnd.random() < 0.7 else {"s": shared},
                "attached_policies": rnd.sample(managed + ["arn:aws:iam::111111111111:policy/missing"],
                                                k=min(1, len(managed))),
                "permissions_boundary": rnd.choice([None, None, managed[0] if managed else None])}
            if rnd.random() < 0.05:
                del attrs["inline_policies"]
            if rnd.random() < 0.05:
                attrs["trust_policy"] = None
            out.append(_r("aws.iam.role", f"arn:aws:iam::{acct}:role/{name}", acct, attrs))
        for u in range(3):
            if rnd.random() < 0.5:
                out.append(_r("aws.iam.user", f"arn:aws:iam::{acct}:user/u{u}", acct, {
                    "name": f"u{u}", "groups": [], "inline_policies": {"p": _doc(rnd)}, "attached_policies": [],
                    "permissions_boundary": None}))
    for b in BUCKETS:
        acct = rnd.choice(ACCTS)
        out.append(_r("aws.s3.bucket", f"arn:aws:s3:::{b}", acct, {
            "name": b, "policy": _doc(rnd, True) if rnd.random() < 0.7 else None,
            "ownership": "BucketOwnerEnforced"}, "us-east-1"))
    for k in range(2):
        acct = rnd.choice(ACCTS)
        grants = []
        for g in range(rnd.randrange(0, 3)):
            grantee = rnd.choice([f"arn:aws:iam::{acct}:role/{rnd.choice(NAMES)}", f"arn:aws:iam::{acct}:root",
                                  f"arn:aws:sts::{acct}:assumed-role/{rnd.choice(NAMES)}/s",
                                  "ec2.amazonaws.com", f"arn:aws:iam::{acct}:user/u0"])
            grants.append({"grant_id": f"g{g}", "grantee_principal": grantee,
                           "operations": rnd.choice([["Decrypt"], ["Encrypt"]]), "constraints": None})
        out.append(_r("aws.kms.key", f"arn:aws:kms:us-east-1:{acct}:key/k{k}", acct,
                      {"key_id": f"k{k}", "policy": _doc(rnd, True), "grants": grants}, "us-east-1"))
    run = CollectorRun("aws", "t", ACCTS, tuple(sorted({r.kind for r in out})), "2026-01-01T00:00:00Z",
                       "2026-01-01T00:01:00Z")
    return Snapshot(resources=tuple(out), runs=(run,))


def answers(snap: Snapshot) -> list[Any]:
    """Everything the IAM checks ask of the analyzer, as comparable values."""
    analyzer = AccessAnalyzer(snap)
    out: list[Any] = []
    for res in (*snap.of_kind("aws.s3.bucket"), *snap.of_kind("aws.kms.key")):
        req = bucket_read(res) if res.kind == "aws.s3.bucket" else key_decrypt(res)
        if isinstance(req, Unevaluable):
            out.append(req)
            continue
        out.append(analyzer.analyse(req))
        out.append(analyzer.analyse(req, avoid=["arn:aws:iam::*:role/a*"]))
    out.append(analyzer.reachers([r.id for r in snap.of_kind("aws.iam.role")][:2]))
    return out


def main(argv: list[str] | None = None) -> int:
    """Compare optimised and reference analyses over many random snapshots."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshots", type=int, default=300)
    args = ap.parse_args(argv)
    bad = 0
    paths = 0
    for seed in range(args.snapshots):
        snap = snapshot(seed)
        fast = answers(snap)
        with mock.patch.object(ReaderIndex, "candidates", return_value=None), \
                mock.patch.object(Directory, "_parse", side_effect=parse_policy, autospec=False):
            slow = answers(snap)
        paths += sum(len(a.paths) for a in slow if hasattr(a, "paths"))
        if fast != slow:
            bad += 1
            if bad <= 5:
                print(f"seed {seed}: results differ", file=sys.stderr)
    print(f"| random snapshots | reader paths compared | differences |\n|---:|---:|---:|\n"
          f"| {args.snapshots} | {paths} | {bad} |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

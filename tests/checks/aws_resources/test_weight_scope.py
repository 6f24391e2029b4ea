"""Scope (issue 10 class 5, issue 13 items 6-7): what holds weights, whether or not it is tagged.

Hand-built snapshots for the weight-storage closure and the checks that read it; the same
attacks run on the real moto server in tests/aws/test_scope_live.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_res_builders import (
    ACCT,
    OTHER,
    REGION,
    REGISTRY,
    bucket,
    bucket_arn,
    by_status,
    config,
    ebs_snapshot,
    image,
    instance,
    kms_key,
    run_check,
    snap,
    volume,
)

from aslcheck.checks.aws.scope import weight_buckets, weight_keys, weight_storage
from aslcheck.checks.aws.weight_scope import STORAGE_KINDS, scope_kinds
from aslcheck.checks.interface import Select
from aslcheck.controls.config import Config, Scope
from aslcheck.inventories.snapshot import Resource

NOT_SHARED = "aws.ec2.weights_not_shared"
ALLOWLISTED = "aws.weights.storage_allowlisted"
NO_PUBLIC = "aws.s3.weights_no_public_or_cross_account"
VERSIONING = "aws.s3.weights_versioning"
ROTATION = "aws.kms.weight_key_rotation"
WILDCARD = "aws.kms.weight_key_no_wildcard_principal"
B = bucket_arn
OWNER = "owner-canonical"


def I(iid: str) -> str:  # noqa: E743 - short on purpose
    return f"arn:aws:ec2:{REGION}:{ACCT}:instance/{iid}"


def VOL(vid: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCT}:volume/{vid}"


def SNP(sid: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCT}:snapshot/{sid}"


def AMI(ami: str) -> str:
    return f"arn:aws:ec2:{REGION}::image/{ami}"


def KEY(kid: str, region: str = REGION) -> str:
    return f"arn:aws:kms:{region}:{ACCT}:key/{kid}"


def held(snapshot: Any, cfg: Config | None = None) -> set[str]:
    scope = weight_storage(snapshot, cfg or config())
    return {k[2] for k in scope.held}


def undecided(snapshot: Any, cfg: Config | None = None) -> set[str]:
    return {k[2] for k in weight_storage(snapshot, cfg or config()).undecided}


def plain(*names: str, **over: Any) -> list[Resource]:
    return [bucket(n, weights=False, **over) for n in names]


def replicating(name: str, *dests: str, status: str = "Enabled", **over: Any) -> Resource:
    return bucket(name, replication={"role": "arn:aws:iam::111111111111:role/rep", "destinations": [
        {"bucket": B(d), "account": None, "status": status} for d in dests]}, **over)


# -- allowed_storage and weight patterns are in scope, tagged or not ------------------------------


def test_allowed_storage_is_in_scope_without_weight_tags() -> None:
    # weights-* is declared storage; the bucket carries no weight tag and is public.
    open_policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                  "Resource": "*"}]}
    s = snap(bucket("weights-untagged", weights=False, policy=open_policy))
    assert held(s) == {B("weights-untagged")}
    assert by_status(run_check(NO_PUBLIC, s, config())) == {"fail": {B("weights-untagged")}}


def test_allowed_storage_is_in_scope_when_tags_are_unreadable() -> None:
    s = snap(bucket("weights-b", tags=None, versioning=None))
    assert held(s) == {B("weights-b")} and not undecided(s)
    assert by_status(run_check(VERSIONING, s, config())) == {"fail": {B("weights-b")}}


def test_weight_arn_pattern_covers_untagged_keys_and_volumes() -> None:
    cfg = Config(scope=Scope(weight_tags={"asl:asset": "model-weights"}, aws=True,
                             weight_arn_patterns=(KEY("*"), VOL("vol-w*"))))
    s = snap(kms_key("k1", rotation_enabled=False, key_spec="SYMMETRIC_DEFAULT", origin="AWS_KMS"),
             volume("vol-w1", tags=None), volume("vol-other"))
    assert held(s, cfg) == {KEY("k1"), VOL("vol-w1")}
    assert by_status(run_check(ROTATION, s, cfg)) == {"fail": {KEY("k1")}}
    assert by_status(run_check(ALLOWLISTED, s, cfg)) == {"fail": {VOL("vol-w1")}}


# -- replicas of weight buckets ------------------------------------------------------------------


def test_untagged_replica_of_a_weight_bucket_is_a_weight_bucket() -> None:
    public = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::dr-copy/*"}]}
    s = snap(replicating("weights-a", "dr-copy"), *plain("dr-copy", policy=public), *plain("logs"))
    assert held(s) == {B("weights-a"), B("dr-copy")}
    assert by_status(run_check(NO_PUBLIC, s, config())) == {
        "pass": {B("weights-a")}, "fail": {B("dr-copy")}}
    # dr-copy is not declared storage, and weights-a copies weights to it.
    assert by_status(run_check(ALLOWLISTED, s, config())) == {"fail": {B("weights-a"), B("dr-copy")}}


def test_replica_chains_and_disabled_rules_count() -> None:
    s = snap(replicating("weights-a", "hop-1", status="Disabled"),
             replicating("hop-1", "hop-2", weights=False), *plain("hop-2", versioning=None))
    assert held(s) == {B("weights-a"), B("hop-1"), B("hop-2")}
    assert by_status(run_check(VERSIONING, s, config()))["fail"] == {B("hop-2")}


def test_replica_outside_the_snapshot_is_an_error_where_weights_are_judged() -> None:
    # Cross-account replication into a bucket no scan covered: its settings are unknown.
    s = snap(replicating("weights-a", "their-bucket"))
    scope = weight_storage(s, config())
    assert [r.ref for r in scope.unresolved if r.kind == "aws.s3.bucket"] == [B("their-bucket")]
    assert by_status(run_check(VERSIONING, s, config())) == {
        "pass": {B("weights-a")}, "error": {B("their-bucket")}}
    assert by_status(run_check(ALLOWLISTED, s, config())) == {
        "fail": {B("weights-a")}, "error": {B("their-bucket")}}
    assert weight_buckets(s, config()).unresolved


def test_uncollected_replication_makes_every_other_bucket_undecided() -> None:
    s = snap(bucket("weights-a", drop=["replication"]), *plain("logs", "scratch"))
    assert held(s) == {B("weights-a")}
    assert undecided(s) == {B("logs"), B("scratch")}
    found = by_status(run_check(VERSIONING, s, config()))
    assert found == {"pass": {B("weights-a")}, "error": {B("logs"), B("scratch")}}
    assert by_status(run_check(ALLOWLISTED, s, config()))["error"] >= {B("weights-a")}


def test_replicas_of_an_undecided_bucket_are_undecided() -> None:
    s = snap(replicating("mystery", "copy", weights=False, tags=None), *plain("copy"))
    assert undecided(s) == {B("mystery"), B("copy")}


# -- volumes, snapshots and AMIs of weight hosts -----------------------------------------------------


def _host_lab(**snap_over: Any) -> list[Resource]:
    return [instance("i-w", "vpc-1", weights=True), instance("i-n", "vpc-1"),
            volume("vol-root", attached_to=["i-w"]), volume("vol-other", attached_to=["i-n"]),
            ebs_snapshot("snap-w", volume_id="vol-root", **snap_over),
            ebs_snapshot("snap-n", volume_id="vol-other", shared_with=["999999999999"])]


def test_snapshot_of_a_weight_host_volume_shared_with_an_account_fails() -> None:
    s = snap(*_host_lab(shared_with=["210987654321"]))
    assert held(s) == {I("i-w"), VOL("vol-root"), SNP("snap-w")}
    assert by_status(run_check(NOT_SHARED, s, config())) == {"fail": {SNP("snap-w")}}


def test_ami_of_a_weight_host_shared_with_an_organisation_fails() -> None:
    org = "arn:aws:organizations::999999999999:organization/o-other"
    s = snap(*_host_lab(), image("ami-w", source_instance_id="i-w", snapshot_ids=["snap-w"],
                                 shared_with_organizations=[org]),
             image("ami-n", source_instance_id="i-n", shared_with=["999999999999"]))
    assert {AMI("ami-w")} <= held(s) and AMI("ami-n") not in held(s)
    assert by_status(run_check(NOT_SHARED, s, config())) == {
        "pass": {SNP("snap-w")}, "fail": {AMI("ami-w")}}


def test_public_ami_built_on_a_weight_snapshot_and_its_other_snapshots_fail() -> None:
    s = snap(ebs_snapshot("snap-t", weights=True),
             ebs_snapshot("snap-extra", shared_with=["210987654321"]),
             image("ami-pub", snapshot_ids=["snap-t", "snap-extra"], public=True))
    assert held(s) == {SNP("snap-t"), SNP("snap-extra"), AMI("ami-pub")}
    assert by_status(run_check(NOT_SHARED, s, config())) == {
        "pass": {SNP("snap-t")}, "fail": {SNP("snap-extra"), AMI("ami-pub")}}


def test_undecided_host_makes_its_copies_undecided() -> None:
    s = snap(instance("i-u", "vpc-1", tags=None), volume("vol-u", attached_to=["i-u"]),
             ebs_snapshot("snap-u", volume_id="vol-u"))
    assert undecided(s) == {I("i-u"), VOL("vol-u"), SNP("snap-u")}
    assert by_status(run_check(NOT_SHARED, s, config())) == {"error": {SNP("snap-u")}}


def test_unknown_links_near_a_weight_host_are_undecided() -> None:
    s = snap(instance("i-w", "vpc-1", weights=True), volume("vol-x", drop=["attached_to"]),
             ebs_snapshot("snap-x", drop=["volume_id"]))
    assert {VOL("vol-x"), SNP("snap-x")} <= undecided(s)


def test_sharing_not_collected_is_an_error() -> None:
    s = snap(ebs_snapshot("snap-t", weights=True, drop=["shared_with"]),
             image("ami-t", weights=True, drop=["shared_with_organizations"]))
    assert by_status(run_check(NOT_SHARED, s, config())) == {"error": {SNP("snap-t"), AMI("ami-t")}}


def test_no_weight_snapshot_or_ami_passes_only_when_listed_completely() -> None:
    from aslcheck.checks.engine import Options, evaluate
    from aslcheck.controls.loader import load_catalog

    catalog, _ = load_catalog(checks=REGISTRY)
    listed = snap(ebs_snapshot("s1"), kinds=sorted(STORAGE_KINDS))
    unlisted = snap(ebs_snapshot("s1"), kinds=["aws.ec2.snapshot"])
    for s, want in ((listed, "pass"), (unlisted, "error")):
        run = evaluate(catalog, "asl2", REGISTRY, s, config(), options=Options())
        [outcome] = {o.check: o for r in run.results for o in r.checks
                     if o.check == NOT_SHARED}.values()
        assert outcome.status == want, outcome


# -- keys encrypting weight copies, and multi-Region siblings ------------------------------------------


def _key(kid: str, region: str = REGION, **over: Any) -> Resource:
    base: dict[str, Any] = {"key_spec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS",
                            "rotation_enabled": True}
    base.update(over)
    return kms_key(kid, region=region, **base)


def test_key_encrypting_a_weight_snapshot_is_a_weight_key() -> None:
    s = snap(ebs_snapshot("snap-w", weights=True, kms_key_id=KEY("k-snap")),
             _key("k-snap", rotation_enabled=False), _key("k-unrelated", rotation_enabled=False))
    assert weight_keys(s, config()).resources[0].id == KEY("k-snap")
    assert by_status(run_check(ROTATION, s, config())) == {"fail": {KEY("k-snap")}}


def test_key_encrypting_a_weight_host_volume_is_a_weight_key() -> None:
    s = snap(instance("i-w", "vpc-1", weights=True),
             volume("vol-root", attached_to=["i-w"], kms_key_id=KEY("k-vol")),
             _key("k-vol", rotation_enabled=False))
    assert by_status(run_check(ROTATION, s, config())) == {"fail": {KEY("k-vol")}}


def test_uncollected_key_of_a_weight_volume_is_an_error() -> None:
    s = snap(volume("vol-w", weights=True, kms_key_id=KEY("k-gone")))
    assert by_status(run_check(ROTATION, s, config())) == {"error": {KEY("k-gone")}}


def test_multi_region_replica_of_a_weight_key_is_a_weight_key() -> None:
    star = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
                           "Resource": "*"}]}
    ok = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                         "Action": "kms:*", "Resource": "*"}]}
    mrk = "mrk-1234"
    family = [KEY(mrk), KEY(mrk, "eu-west-1")]
    s = snap(_key(mrk, weights=True, policy=ok, multi_region_keys=family),
             _key(mrk, "eu-west-1", policy=star, multi_region_keys=family),
             bucket("weights-a"), kms_key())
    assert {k.id for k in weight_keys(s, config()).resources} >= set(family)
    assert by_status(run_check(WILDCARD, s, config()))["fail"] == {KEY(mrk, "eu-west-1")}


def test_multi_region_replica_not_collected_is_an_error() -> None:
    mrk = "mrk-9999"
    family = [KEY(mrk), KEY(mrk, "ap-south-1")]
    s = snap(_key(mrk, weights=True, policy={"Statement": []}, multi_region_keys=family))
    refs = [r.ref for r in weight_keys(s, config()).unresolved]
    assert refs == [KEY(mrk, "ap-south-1")]
    assert by_status(run_check(ROTATION, s, config())) == {
        "pass": {KEY(mrk)}, "error": {KEY(mrk, "ap-south-1")}}


def test_multi_region_key_whose_replicas_were_not_read_is_an_error() -> None:
    s = snap(_key("mrk-5555", weights=True, policy={"Statement": []}))
    assert [r.ref for r in weight_keys(s, config()).unresolved] == ["<multi_region_keys>"]
    assert "error" in by_status(run_check(ROTATION, s, config()))


# -- bucket ACL grants to other canonical IDs (issue 13 item 6) ----------------------------------------


def _acl(*grantees: str, owner: str | None = OWNER) -> Resource:
    drop = ["owner_id"] if owner is None else []
    return bucket("weights-a", ownership="BucketOwnerPreferred", owner_id=owner, drop=drop,
                  acl_grants=[{"grantee_type": "CanonicalUser", "grantee": g,
                               "permission": "READ"} for g in grantees])


@pytest.mark.parametrize(("grantees", "expect"), [
    ((OWNER,), "pass"),
    ((OWNER, "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"), "fail"),
    (("a" * 64,), "fail"),   # the only canonical grantee is not the owner
    ((OWNER, OWNER.upper()), "fail"),   # IDs are compared exactly
])
def test_acl_grant_to_another_canonical_id_is_cross_account(grantees: tuple[str, ...],
                                                            expect: str) -> None:
    [f] = run_check(NO_PUBLIC, snap(_acl(*grantees)), config())
    assert f.status.value == expect, f.reason
    if expect == "fail":
        assert "cross-account" in f.reason


def test_acl_canonical_grant_without_a_collected_owner_is_an_error() -> None:
    [f] = run_check(NO_PUBLIC, snap(_acl(OWNER, owner=None)), config())
    assert f.status.value == "error" and "owner" in f.reason


def test_acl_grants_are_ignored_when_acls_are_disabled() -> None:
    b = bucket("weights-a", ownership="BucketOwnerEnforced", owner_id=OWNER, acl_grants=[
        {"grantee_type": "CanonicalUser", "grantee": "b" * 64, "permission": "FULL_CONTROL"}])
    [f] = run_check(NO_PUBLIC, snap(b), config())
    assert f.status.value == "pass"


# -- declarations -----------------------------------------------------------------------------------


def test_checks_selecting_weight_storage_declare_what_the_scope_reads() -> None:
    # The collector fetches only declared kinds; a weight volume is found through instances.
    for spec in REGISTRY:
        if spec.select is Select.WEIGHTS and spec.subjects & STORAGE_KINDS:
            assert scope_kinds(spec.subjects) <= spec.kinds, spec.id


def test_other_account_owner_is_unaffected() -> None:
    # A weight bucket of another account replicating into ours: both are weight buckets.
    s = snap(replicating("weights-x", "ours", account=OTHER), *plain("ours"))
    assert held(s) == {B("weights-x"), B("ours")}


def test_planned_replica_of_a_weight_bucket_is_in_scope_in_the_gate(tmp_path: Any) -> None:
    # The same closure on Terraform code: the normaliser records replication like the collector.
    from aslcheck.inventories.snapshot import Snapshot
    from aslcheck.inventories.terraform.hcl import load_directory
    from aslcheck.inventories.terraform.normalise import normalise

    (tmp_path / "main.tf").write_text('''
provider "aws" { region = "us-east-1" }
resource "aws_s3_bucket" "weights" {
  bucket = "weights-prod"
  tags   = { "asl:asset" = "model-weights" }
}
resource "aws_s3_bucket" "dr" { bucket = "dr-copy" }
resource "aws_s3_bucket_replication_configuration" "rep" {
  bucket = aws_s3_bucket.weights.id
  role   = "arn:aws:iam::111111111111:role/rep"
  rule {
    status = "Enabled"
    destination { bucket = aws_s3_bucket.dr.arn }
  }
}
''')
    resources = tuple(normalise(load_directory(str(tmp_path))))
    dr = next(r for r in resources if r.id == "aws_s3_bucket.dr")
    assert dr.attributes["replication"] is None
    scope = weight_storage(Snapshot(resources=resources), config())
    assert dr.key() in scope.held and "replica of bucket aws_s3_bucket.weights" in scope.why(dr)[0]

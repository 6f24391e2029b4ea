"""Principals we cannot see are not absent: an IAM listing that fails never leaves a PASS (issue 10, class 3).

On the seeded lab (moto over HTTP) the weight key's policy delegates to the account; with the
IAM listing complete and a roster naming everyone who can read it, the roster check passes.
When ``iam:GetAccountAuthorizationDetails`` is denied, throttled or broken, the account's
principals are unknown: the key and bucket findings must be ERROR naming the account, even
though the roster names the root user the policy literally names.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from awsfake import RecordingProxy
from awsseed import ACCOUNT, SeededLab

from aslcheck.checks.builtin import default_registry
from aslcheck.checks.interface import CheckContext, Finding, Status
from aslcheck.controls.config import PARAM_SPECS, Access, Config, Scope
from aslcheck.inventories.aws import AwsCollector
from aslcheck.inventories.interface import CollectionRequest

REGISTRY = default_registry()
ROSTER_CHECK = "aws.iam.weights_effective_access_within_roster"
KINDS = frozenset(REGISTRY.get(ROSTER_CHECK).kinds)
ROSTER = (f"arn:aws:iam::{ACCOUNT}:role/serving", f"arn:aws:iam::{ACCOUNT}:root",
          f"arn:aws:iam::{ACCOUNT}:role/broker", f"arn:aws:iam::{ACCOUNT}:user/alice")
CFG = Config(scope=Scope(weight_tags={"asl:asset": "model-weights"}, aws=True), access=Access(roster=ROSTER),
             parameters={n: s.default for n, s in PARAM_SPECS.items()})
GAAD = "iam:GetAccountAuthorizationDetails"


def _findings(proxy: RecordingProxy, make: Callable[..., AwsCollector]) -> dict[str, Finding]:
    snap = make(proxy.url, skip_operations={"ec2:GetEbsDefaultKmsKeyId"}).collect(
        CollectionRequest(kinds=KINDS, config=CFG))
    findings = REGISTRY.get(ROSTER_CHECK).evaluate(CheckContext(snapshot=snap, config=CFG, resources=()))
    return {f.resource or "<check>": f for f in findings}


def test_baseline_roster_passes_on_the_weight_key(seeded_lab: SeededLab, lab_proxy: RecordingProxy,
                                                  aws_collector: Callable[..., AwsCollector]) -> None:
    got = _findings(lab_proxy, aws_collector)
    key = got[seeded_lab.lab.weight_key_arn]
    assert key.status is Status.PASS, key.reason


@pytest.mark.parametrize(("status", "code"), [(403, "AccessDenied"), (400, "Throttling"), (500, "InternalError")])
def test_failed_iam_listing_never_passes(seeded_lab: SeededLab, lab_proxy: RecordingProxy,
                                         aws_collector: Callable[..., AwsCollector], status: int, code: str) -> None:
    lab_proxy.fault(GAAD, status, code)
    got = _findings(lab_proxy, aws_collector)
    key = got[seeded_lab.lab.weight_key_arn]
    bucket = got[f"arn:aws:s3:::{seeded_lab.lab.weights_bucket}"]
    assert key.status is Status.ERROR and bucket.status is not Status.PASS, (key.reason, bucket.reason)
    assert ACCOUNT in key.reason and "not listed completely" in key.reason, key.reason
    assert any(GAAD in g for g in key.evidence["gaps"]), key.evidence["gaps"]
    assert not [f for f in got.values() if f.status is Status.PASS]

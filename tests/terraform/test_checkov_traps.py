"""checkov PASS results that prove less than their name says (issue 10 class 9), on real
checkov runs over the trees in tests/terraform/data/traps/. For each trap: checkov really
passes the check, the reviewed map counts that pass as no evidence (NOT_APPLICABLE, never
PASS), the shared check on the model fails the resource, and the gate does not pass.
Catalogued in docs/adversarial/gate.md."""

from __future__ import annotations

import pytest

from aslcheck.checks.registry import Registry
from aslcheck.controls.config import Config
from aslcheck.controls.model import Catalog
from aslcheck.gate import GateResult, GateVerdict, run_gate
from tests.terraform.conftest import CachingRunner

pytestmark = pytest.mark.checkov

TRAPS = "tests/terraform/data/traps"


def _gate(name: str, catalog: Catalog, registry: Registry, config: Config,
          checkov: CachingRunner) -> GateResult:
    return run_gate(f"{TRAPS}/{name}", None, "asl3", config, catalog=catalog, registry=registry,
                    runner=checkov)


@pytest.fixture(scope="module")
def egress(catalog: Catalog, registry: Registry, config: Config,
           checkov: CachingRunner) -> GateResult:
    return _gate("egress", catalog, registry, config, checkov)


@pytest.fixture(scope="module")
def public_ip(catalog: Catalog, registry: Registry, config: Config,
              checkov: CachingRunner) -> GateResult:
    return _gate("public_ip", catalog, registry, config, checkov)


@pytest.fixture(scope="module")
def graph(catalog: Catalog, registry: Registry, config: Config,
          checkov: CachingRunner) -> GateResult:
    return _gate("graph", catalog, registry, config, checkov)


def checkov_result(result: GateResult, check_id: str, address: str) -> str:
    """checkov's own result for ``check_id`` on ``address``."""
    found = [str(r.attributes["result"]) for r in result.snapshot.of_kind("iac.checkov.finding")
             if r.attributes.get("check_id") == check_id and r.attributes["resource"] == address]
    assert len(found) == 1, (check_id, address, found)
    return found[0]


def iac_status(result: GateResult, check_id: str, address: str) -> str:
    """What our iac.checkov.* checks made of that result."""
    found = {f.status.value for c in result.controls for o in c.result.checks
             if o.check.startswith("iac.checkov.") for f in o.findings
             if (f.resource or "").startswith(f"{check_id}:{address}@")}
    assert len(found) == 1, (check_id, address, found)
    return found.pop()


def shared_status(result: GateResult, check: str, address: str) -> str:
    found = {f.status.value for c in result.controls for o in c.result.checks
             if o.check == check for f in o.findings if f.resource == address}
    assert len(found) == 1, (check, address, found)
    return found.pop()


# -- CKV_AWS_382: egress ---------------------------------------------------------------------

@pytest.mark.parametrize("group", ["rule_resource", "vpc_rule", "self_first", "prefix_list",
                                   "all_word"])
def test_open_egress_that_ckv_aws_382_passes(egress: GateResult, group: str) -> None:
    address = f"aws_security_group.{group}"
    assert checkov_result(egress, "CKV_AWS_382", address) == "passed"
    assert iac_status(egress, "CKV_AWS_382", address) == "not_applicable"
    assert shared_status(egress, "aws.vpc.weights_sg_egress_restricted", address) == "fail"


@pytest.mark.parametrize("rule", ["aws_vpc_security_group_egress_rule.vpc_rule_out",
                                  "aws_security_group_rule.all_word_out"])
def test_rule_resources_ckv_aws_382_passes_too(egress: GateResult, rule: str) -> None:
    assert checkov_result(egress, "CKV_AWS_382", rule) == "passed"
    assert iac_status(egress, "CKV_AWS_382", rule) == "not_applicable"


def test_a_failing_rule_still_counts_and_egress_fails_the_gate(egress: GateResult) -> None:
    rule = "aws_security_group_rule.rule_resource_out"
    assert checkov_result(egress, "CKV_AWS_382", rule) == "failed"
    assert iac_status(egress, "CKV_AWS_382", rule) == "fail"
    assert shared_status(egress, "aws.vpc.weights_sg_egress_restricted",
                         "aws_security_group.restricted") == "pass"
    nw1 = next(c for c in egress.controls if c.result.control.id == "ASL3-NW-1")
    assert nw1.verdict is GateVerdict.FAIL
    assert egress.verdict is GateVerdict.FAIL


# -- CKV_AWS_88: public IPs ------------------------------------------------------------------

@pytest.mark.parametrize("instance", ["subnet_default", "subnet_string", "elastic",
                                      "associated"])
def test_public_ip_that_ckv_aws_88_passes(public_ip: GateResult, instance: str) -> None:
    address = f"aws_instance.{instance}"
    assert checkov_result(public_ip, "CKV_AWS_88", address) == "passed"
    assert iac_status(public_ip, "CKV_AWS_88", address) == "not_applicable"
    assert shared_status(public_ip, "aws.ec2.weights_no_public_ip", address) == "fail"


def test_private_instance_passes_and_subnets_are_judged(public_ip: GateResult) -> None:
    assert shared_status(public_ip, "aws.ec2.weights_no_public_ip", "aws_instance.private") \
        == "pass"
    # CKV_AWS_130 reads the subnet itself and converts "true" like the provider: it stays.
    assert iac_status(public_ip, "CKV_AWS_130", "aws_subnet.public_string") == "fail"
    assert iac_status(public_ip, "CKV_AWS_130", "aws_subnet.private") == "pass"
    assert public_ip.verdict is GateVerdict.FAIL


def test_elastic_ip_is_part_of_its_instance(public_ip: GateResult) -> None:
    inst = next(r for r in public_ip.snapshot.of_kind("aws.ec2.instance")
                if r.id == "aws_instance.elastic")
    assert inst.attributes["terraform_parts"] == ["aws_eip.elastic"]
    assert inst.attributes["public_ip"]


# -- connection-based graph checks and polarity traps ----------------------------------------

@pytest.mark.parametrize(("check_id", "address", "shared", "subject", "status"), [
    # a flow log of another VPC that tags the weight VPC
    ("CKV2_AWS_11", "aws_vpc.weights", "aws.vpc.weights_flow_logs", "aws_vpc.weights", "fail"),
    # another bucket's public access block with depends_on on the weight bucket (the model has
    # no block for it, and the account-level block is not in the code: not decidable)
    ("CKV2_AWS_6", "aws_s3_bucket.weights", "aws.s3.weights_public_access_block",
     "aws_s3_bucket.weights", "error"),
    # inline versioning "enabled", a separate aws_s3_bucket_versioning "Suspended"
    ("CKV_AWS_21", "aws_s3_bucket.weights", "aws.s3.weights_versioning", "aws_s3_bucket.weights",
     "fail"),
    # principals type "*": anyone, anonymous included, may read the weights
    ("CKV_AWS_283", "aws_iam_policy_document.weights", "aws.s3.weights_no_public_or_cross_account",
     "aws_s3_bucket.weights", "fail"),
])
def test_graph_and_polarity_traps(graph: GateResult, check_id: str, address: str, shared: str,
                                  subject: str, status: str) -> None:
    assert checkov_result(graph, check_id, address) == "passed"
    assert iac_status(graph, check_id, address) == "not_applicable"
    assert shared_status(graph, shared, subject) == status


def test_ckv_aws_283_fails_only_for_weight_policies(graph: GateResult) -> None:
    # The weight key's document grants every AWS principal: in scope (by content), a violation.
    assert checkov_result(graph, "CKV_AWS_283", "aws_iam_policy_document.key") == "failed"
    assert iac_status(graph, "CKV_AWS_283", "aws_iam_policy_document.key") == "fail"
    # The same grant on a bucket holding no weights fails checkov but is out of scope.
    assert checkov_result(graph, "CKV_AWS_283", "aws_iam_policy_document.scratch") == "failed"
    assert not [f for c in graph.controls for o in c.result.checks for f in o.findings
                if (f.resource or "").startswith("CKV_AWS_283:aws_iam_policy_document.scratch")]
    # CKV_AWS_33 passes the same key policy; the shared check does not.
    assert checkov_result(graph, "CKV_AWS_33", "aws_kms_key.weights") == "passed"
    assert shared_status(graph, "aws.kms.weight_key_no_wildcard_principal",
                         "aws_kms_key.weights") == "fail"
    assert graph.verdict is GateVerdict.FAIL

"""A standalone account (no organisation) answers AWSOrganizationsNotInUseException: that is data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aslcheck.controls.config import Config
from aslcheck.inventories.interface import CollectionRequest

ORG_KINDS = frozenset({"aws.organizations.policy", "aws.organizations.account"})


def test_no_organisation_means_no_scps_not_missing_evidence(
        moto_endpoint: str, aws_collector: Callable[..., Any]) -> None:
    snap = aws_collector(moto_endpoint).collect(CollectionRequest(kinds=ORG_KINDS, config=Config()))
    assert snap.errors == ()
    assert snap.kinds_collected() >= ORG_KINDS
    assert not [r for r in snap.resources if r.kind in ORG_KINDS]

"""Work units of a sharded AWS scan: account x region x service module, plus each account's probe.

Every shard plans the same universe from the same inputs (the accounts the scan reaches, the
explicit regions, the requested kinds) and keeps the units :class:`~aslcheck.inventories.shard.ShardSpec`
assigns it. Global modules are one unit per account (region ``global``); the probe of enabled
regions outside ``aws.regions`` (:mod:`aslcheck.inventories.aws.regions`) is one unit per account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

from aslcheck.inventories.aws.regions import RESOURCE_TYPES
from aslcheck.inventories.shard import ShardPlan, ShardSpec, Unit, claimable

SOURCE = "aws"
GLOBAL = "global"
"""Region of the unit of a global module."""
OUTSIDE = "outside-regions"
"""Region of an account's probe unit."""
PROBE = "regions"
"""Module name of an account's probe unit."""


def module_name(module: ModuleType) -> str:
    """Short name of a service module (``s3``, ``lambda_functions``): the last part of its unit key."""
    return module.__name__.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class AwsShard:
    """The universe of one AWS collection and the part of it this shard owns."""

    spec: ShardSpec
    """Which shard this is."""
    kinds: frozenset[str]
    """Requested kinds."""
    covers: Mapping[Unit, frozenset[str]]
    """Every unit of the universe -> the requested kinds it lists."""

    def owns(self, account: str, region: str, module: str) -> bool:
        """Whether this shard collects that unit."""
        return self.spec.owns(Unit(SOURCE, (account, region, module)))

    def accounts(self) -> frozenset[str]:
        """Accounts where this shard owns at least one unit (the only ones it enters)."""
        return frozenset(u.key[0] for u in self.covers if self.spec.owns(u))

    def plan(self) -> ShardPlan:
        """The :class:`ShardPlan` for the partial's manifest."""
        mine = tuple(sorted(u for u in self.covers if self.spec.owns(u)))
        return ShardPlan(collector=SOURCE, universe=tuple(sorted(self.covers)), mine=mine, kinds=self.kinds,
                         covered=frozenset(k for u in mine for k in self.covers[u]))

    def claimable(self) -> frozenset[str]:
        """Kinds this shard may claim as listed completely (see :func:`~aslcheck.inventories.shard.claimable`)."""
        plan = self.plan()
        anywhere = frozenset(k for ks in self.covers.values() for k in ks)
        return claimable(self.kinds, plan.covered, anywhere)


def plan_units(spec: ShardSpec, accounts: Sequence[str], modules_for: Callable[[str], Sequence[ModuleType]],
               regions: Sequence[str], kinds: frozenset[str]) -> AwsShard:
    """The universe over ``accounts`` x ``regions`` x the modules ``modules_for(account)`` plans there."""
    covers: dict[Unit, frozenset[str]] = {}
    for account in accounts:
        probed: set[str] = set()
        for module in modules_for(account):
            wanted = frozenset(module.KINDS & kinds)
            where = [GLOBAL] if module.SCOPE == "global" else list(regions)
            for region in where:
                covers[Unit(SOURCE, (account, region, module_name(module)))] = wanted
            if module.SCOPE == "regional":
                probed |= wanted
        if probed:
            covers[Unit(SOURCE, (account, OUTSIDE, PROBE))] = frozenset(k for k in probed if k in RESOURCE_TYPES)
    return AwsShard(spec, kinds, covers)

"""Host sharding over real sshd servers: each shard connects only to its hosts, and the merge of
the partials covers every host exactly once; a missing shard leaves every host kind unlisted."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from ssh_fleet_helpers import target_for, write_known_hosts
from sshd_servers import Sshd, SshdFactory

from aslcheck.checks.engine import listed_completely
from aslcheck.controls.config import Access, Config, Scope
from aslcheck.inventories.interface import CollectionRequest
from aslcheck.inventories.shard import ShardSpec, Unit, build_manifest, partial_files
from aslcheck.inventories.shard_merge import find_manifests, load_partial, merge_partials
from aslcheck.inventories.snapshot import Snapshot
from aslcheck.inventories.ssh import KINDS, HostTarget, ParamikoConnector, SshCollector, SshOptions
from aslcheck.inventories.ssh.transport import Connection

pytestmark = pytest.mark.sshd

HOSTS = [f"node-{i:02d}" for i in range(7)]
COUNT = 3
CONFIG = Config(scope=Scope(hosts=True), access=Access(host_roster=("root",)))


class Recording:
    """A connector that remembers which hosts it was asked to reach."""

    def __init__(self, inner: ParamikoConnector) -> None:
        self.inner = inner
        self.hosts: list[str] = []
        self._lock = threading.Lock()

    def connect(self, target: HostTarget) -> Connection:
        with self._lock:
            self.hosts.append(target.name)
        return self.inner.connect(target)


@pytest.fixture(scope="module")
def fleet(sshd_factory: SshdFactory, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Sshd], str]:
    """Seven real sshd servers (stopped with the module's factory) and their known_hosts."""
    servers = sshd_factory.start_many(HOSTS)
    known = write_known_hosts(tmp_path_factory.mktemp("shard-kh") / "known_hosts", servers)
    return servers, known


def _collect(fleet: tuple[list[Sshd], str], factory: SshdFactory,
             shard: ShardSpec | None) -> tuple[SshCollector, Recording, Snapshot]:
    servers, known = fleet
    targets = tuple(target_for(s, factory) for s in servers)
    connector = Recording(ParamikoConnector(known, connect_timeout=10.0, use_agent=False))
    collector = SshCollector(targets, known, connector=connector, shard=shard,
                             options=SshOptions(command_timeout=120.0, max_workers=8))
    snap = collector.collect(CollectionRequest(kinds=KINDS, config=CONFIG))
    return collector, connector, snap


def test_shards_split_the_hosts_and_merge_to_the_whole_fleet(fleet: tuple[list[Sshd], str],
                                                              sshd_factory: SshdFactory, tmp_path: Path) -> None:
    _, whole_conn, whole = _collect(fleet, sshd_factory, None)
    assert sorted(whole_conn.hosts) == HOSTS
    folders = []
    seen: list[str] = []
    for i in range(COUNT):
        spec = ShardSpec(i, COUNT)
        collector, conn, snap = _collect(fleet, sshd_factory, spec)
        mine = sorted(h for h in HOSTS if spec.owns(Unit("ssh", (h,))))
        assert sorted(conn.hosts) == mine  # never contacted another shard's host
        assert sorted({r.host for r in snap.resources if r.host}) == mine
        seen += mine
        plan = collector.shard_plan()
        assert [u.key[0] for u in plan.universe] == HOSTS
        raw = snap.canonical_bytes()
        manifest = build_manifest(spec, [plan], raw, tool_version="t", config_digest="c", catalog_digest="k")
        folder = tmp_path / f"shard-{i}"
        folder.mkdir()
        for name, data in partial_files(manifest, raw).items():
            (folder / name).write_bytes(data)
        folders.append(folder)
    assert sorted(seen) == HOSTS
    found, _ = find_manifests([str(f) for f in folders])
    merged = merge_partials([load_partial(p) for p in found], config_digest="c", catalog_digest="k")
    assert merged.problems == ()
    assert {r.key() for r in merged.snapshot.resources} == {r.key() for r in whole.resources}
    assert listed_completely(merged.snapshot) == listed_completely(whole)
    # without one shard, no host kind is listed completely
    found, _ = find_manifests([str(f) for f in folders[1:]])
    partial = merge_partials([load_partial(p) for p in found], config_digest="c", catalog_digest="k")
    assert [p.code for p in partial.problems] == ["ShardMissing"]
    assert not listed_completely(partial.snapshot) & KINDS

"""Ansible inventories (YAML, INI) and ssh config resolved into targets (pure functions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aslcheck.controls.yamlio import load_yaml
from aslcheck.errors import BadInputError, Location
from aslcheck.inventories.ssh import (
    load_inventory,
    load_targets,
    parse_ini_inventory,
    parse_ssh_config,
    parse_yaml_inventory,
    resolve_target,
)

YAML_INV = """\
all:
  vars:
    ansible_user: ops
    tier: base
  hosts:
    bastion:
      ansible_host: 10.0.0.2
  children:
    weights_servers:
      vars:
        tier: weights
        aslcheck_sshd_config: /etc/ssh/custom_sshd_config
      hosts:
        gpu[01:03]:
          ansible_port: 2222
      children:
        inference:
          hosts:
            serve-a:
              ansible_ssh_private_key_file: /keys/serve
              ansible_user: svc
"""

INI_INV = """\
# comment
loner ansible_host=192.0.2.9

[web]
web[a:c].example.com ansible_port=2200

[db]
db1 ansible_host=10.1.0.5 ansible_user="db admin"

[db:vars]
ansible_port=5022
aslcheck_sudo=False

[prod:children]
web
db
"""


def by_name(hosts: tuple) -> dict:  # type: ignore[type-arg]
    return {h.name: h for h in hosts}


def test_yaml_inventory_groups_ranges_and_precedence() -> None:
    hosts = by_name(parse_yaml_inventory(load_yaml("inv.yml", YAML_INV)))
    assert sorted(hosts) == ["bastion", "gpu01", "gpu02", "gpu03", "serve-a"]
    gpu = hosts["gpu02"]
    assert gpu.groups == {"all", "weights_servers"}
    assert gpu.vars["tier"] == "weights" and gpu.vars["ansible_user"] == "ops" and gpu.vars["ansible_port"] == 2222
    serve = hosts["serve-a"]
    assert serve.groups == {"all", "weights_servers", "inference"}
    assert serve.vars["ansible_user"] == "svc"
    assert hosts["bastion"].vars["tier"] == "base"


def test_ini_inventory() -> None:
    hosts = by_name(parse_ini_inventory(INI_INV, "hosts.ini"))
    assert sorted(hosts) == ["db1", "loner", "weba.example.com", "webb.example.com", "webc.example.com"]
    assert hosts["loner"].groups == {"all", "ungrouped"}
    assert hosts["webb.example.com"].groups == {"all", "web", "prod"}
    assert hosts["webb.example.com"].vars["ansible_port"] == 2200
    db = hosts["db1"]
    assert db.vars["ansible_user"] == "db admin" and db.vars["ansible_port"] == 5022
    assert db.vars["aslcheck_sudo"] is False
    assert db.line == 8


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("[web\nhost1\n", 1, "malformed section"),
    ("[web:vars]\nnovalue\n", 2, "key=value"),
    ("host1\n[bad group]\n", 2, "invalid group name"),
    ("host1 port\n", 1, "key=value"),
    ("[web]\nweb[3:1]\n", 2, "bad host range"),
    ("[a:children]\nb\n[b:children]\na\n", None, "cycle"),
])
def test_bad_ini_names_file_and_line(text: str, line: int | None, fragment: str) -> None:
    with pytest.raises(BadInputError) as info:
        parse_ini_inventory(text, "hosts.ini")
    assert fragment in info.value.message
    assert info.value.location is not None and info.value.location.file == "hosts.ini"
    if line is not None:
        assert info.value.location.line == line


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("all:\n  hosts:\n    - a\n", 2, "hosts must be a mapping"),
    ("all:\n  children:\n    web:\n      host: {}\n", 4, "unknown key 'host'"),
    ("all:\n  hosts:\n    a: {}\n    a: {}\n", 4, "duplicate key"),
    ("- a\n", 1, "mapping of group names"),
])
def test_bad_yaml_names_file_and_line(text: str, line: int, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(BadInputError) as info:
        load_inventory(str(path))
    assert fragment in str(info.value)
    assert info.value.location is not None and info.value.location.line == line


SSH_CONFIG = """\
Host gpu*
    User trainer
    IdentityFile /keys/gpu
    ProxyJump ops@bastion.example.com:2201

Host bastion.example.com
    HostName 203.0.113.7
    IdentityFile /keys/bastion

Host db-alias
    HostName 10.9.9.9
    Port 2022
    User dbops
    ProxyJump hop1,hop2

Host hop2
    HostName 10.0.0.12
"""


def test_ssh_config_resolution_and_proxy_jump() -> None:
    config = parse_ssh_config(SSH_CONFIG, "ssh_config")
    gpu = resolve_target("gpu01", {"ansible_port": 2222}, config, Location("inv"), frozenset({"all", "w"}))
    assert (gpu.hostname, gpu.port, gpu.user, gpu.identity_files) == ("gpu01", 2222, "trainer", ("/keys/gpu",))
    assert gpu.jump is not None
    assert (gpu.jump.hostname, gpu.jump.port, gpu.jump.user) == ("203.0.113.7", 2201, "ops")
    assert gpu.jump.identity_files == ("/keys/bastion",)
    assert gpu.known_hosts_name() == "[gpu01]:2222"
    explicit = resolve_target("gpu02", {"ansible_user": "root", "ansible_ssh_private_key_file": "/k"}, config,
                              Location("inv"))
    assert explicit.user == "root" and explicit.identity_files == ("/k", "/keys/gpu")
    db = resolve_target("db-alias", {}, config, Location("inv"))
    assert (db.hostname, db.port, db.user) == ("10.9.9.9", 2022, "dbops")
    assert [h.name for h in db.hops()] == ["hop1", "hop2"]
    assert db.hops()[1].hostname == "10.0.0.12" and db.known_hosts_name() == "[10.9.9.9]:2022"


def test_ssh_config_refuses_match_exec() -> None:
    with pytest.raises(BadInputError) as info:
        parse_ssh_config("Host a\n  User x\nMatch exec \"true\"\n  User y\n", "cfg")
    assert info.value.location == Location("cfg", 3)


@pytest.mark.parametrize(("variables", "fragment"), [
    ({"ansible_port": "ssh"}, "port must be an integer"),
    ({"ansible_port": 70000}, "out of range"),
    ({"aslcheck_sudo": "yes"}, "aslcheck_sudo"),
    ({"aslcheck_sshd_config": "relative"}, "absolute path"),
])
def test_bad_variables(variables: dict[str, object], fragment: str) -> None:
    with pytest.raises(BadInputError) as info:
        resolve_target("h", variables, None, Location("inv", 4))
    assert fragment in info.value.message and info.value.location == Location("inv", 4)


def test_load_targets_from_files(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(YAML_INV)
    cfg = tmp_path / "ssh_config"
    cfg.write_text(SSH_CONFIG)
    targets = {t.name: t for t in load_targets(inventory=str(inv), ssh_config=str(cfg), hosts=["db-alias"])}
    assert targets["gpu01"].user == "ops"  # ansible_user from the inventory wins over ssh config
    assert targets["gpu01"].sshd_config == "/etc/ssh/custom_sshd_config"
    assert targets["bastion"].hostname == "10.0.0.2"
    assert targets["db-alias"].port == 2022
    with pytest.raises(BadInputError):
        load_targets(inventory=str(inv), ssh_config=str(cfg), hosts=["gpu01"])
    with pytest.raises(BadInputError):
        load_targets(inventory=str(tmp_path / "missing.yml"), use_default_ssh_config=False)

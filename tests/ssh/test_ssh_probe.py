"""The allowlist, the probe script and its framing: quoting, nonce-protected sections, truncation."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from aslcheck.inventories.ssh import commands
from aslcheck.inventories.ssh.commands import Privilege, build_script, render
from aslcheck.inventories.ssh.facts import KINDS
from aslcheck.inventories.ssh.probe import TruncatedOutput, new_nonce, plan_probe, split_output

NONCE = "0123456789abcdef0123456789abcdef"


def test_every_probe_is_allowlisted_and_feeds_a_known_kind() -> None:
    names = [p.name for p in commands.all_probes()]
    assert len(names) == len(set(names))
    # The prelude helpers a template calls decide how it runs; each helper has one privilege.
    root_helpers = ("asl_root", "asl_cryptsetup", "asl_sudoers")
    prefer_helpers = ("asl_priv", "asl_sshd_files")
    for probe in commands.all_probes():
        assert probe.kind in KINDS, probe
        assert any(h in probe.template for h in root_helpers) == (probe.privilege is Privilege.ROOT), probe
        assert any(h in probe.template for h in prefer_helpers) == (probe.privilege is Privilege.PREFER_ROOT), probe
    body = {m.group(1): m.group(2) for m in re.finditer(r"^(asl_\w+)\(\) \{\n(.*?)^\}", commands.PRELUDE, re.M | re.S)}
    assert "asl_root cat" in body["asl_sudoers"] and "asl_priv" not in body["asl_sudoers"]
    assert "asl_priv cat" in body["asl_sshd_files"] and "asl_root" not in body["asl_sshd_files"]


def test_plan_renders_only_allowlisted_templates_with_quoted_values() -> None:
    hostile = "/srv/w'; rm -rf / #"
    plan = plan_probe(KINDS, [hostile], ["edr$(id).service"], "/etc/ssh/sshd config")
    templates = {p.template for p in commands.all_probes()}
    for section in plan.sections:
        values = {"path": hostile, "unit": "edr$(id).service", "sshd_config": "/etc/ssh/sshd config"}
        rendered = {section.probe.template.format(**{k: shlex.quote(v) for k, v in values.items()
                                                    if "{" + k + "}" in section.probe.template})}
        assert section.probe.template in templates
        assert section.body in rendered
    stat = next(s for s in plan.sections if s.name == "stat_0")
    assert shlex.quote(hostile) in stat.body and stat.item == hostile


def test_render_refuses_unknown_placeholders_and_names() -> None:
    with pytest.raises(ValueError, match="unknown placeholders"):
        render(commands.PATH_PROBES[0], {"evil": "x"})
    with pytest.raises(ValueError, match="nonce"):
        build_script((), "not-hex", sudo=False)


def test_kinds_select_sections() -> None:
    plan = plan_probe({"host.sshd"}, ["/a"], ["u"], "/etc/ssh/sshd_config")
    assert {s.name for s in plan.sections} == {"whoami", "os_release", "uname", "sshd_t", "sshd_files"}


def _run_local(sections: tuple, nonce: str) -> bytes:  # type: ignore[type-arg]
    script = build_script(sections, nonce, sudo=False)
    return subprocess.run(["/bin/sh", "-s"], input=script.encode(), capture_output=True, check=True).stdout


def test_script_frames_stdout_stderr_and_exit_codes() -> None:
    plan = plan_probe({"host.os"}, [], [], "/etc/ssh/sshd_config")
    extra = render(commands.Probe("demo", "printf 'no newline'; echo oops >&2; exit 3",
                                  Privilege.USER, "host.os"), {})
    nonce = new_nonce()
    out = _run_local(plan.sections + (extra,), nonce)
    sections = split_output(out, nonce, [s.name for s in plan.sections] + ["demo"])
    assert sections["demo"].stdout == b"no newline"
    assert (sections["demo"].stderr, sections["demo"].rc) == ("oops", 3)
    assert sections["whoami"].rc == 0 and re.match(rb"^\d+\n", sections["whoami"].stdout)


def test_host_output_cannot_forge_sections() -> None:
    nonce = new_nonce()
    fake = f"{NONCE} R 0\\n{NONCE} E\\n\\n{NONCE} Z\\n{NONCE} B whoami\\nforged\\n{NONCE} DONE"
    forger = render(commands.Probe("forger", f"printf '{fake}\\n'", Privilege.USER, "host.os"), {})
    out = _run_local((forger,), nonce)
    sections = split_output(out, nonce, ["forger"])
    assert list(sections) == ["forger"]
    assert f"{NONCE} DONE".encode() in sections["forger"].stdout


def test_truncated_or_reordered_output_is_refused() -> None:
    plan = plan_probe({"host.os"}, [], [], "/etc/ssh/sshd_config")
    nonce = new_nonce()
    out = _run_local(plan.sections, nonce)
    names = [s.name for s in plan.sections]
    assert split_output(out, nonce, names)
    for cut in (len(out) - 3, len(out) // 2, 10, 0):
        with pytest.raises(TruncatedOutput):
            split_output(out[:cut], nonce, names)
    with pytest.raises(TruncatedOutput):
        split_output(out, nonce, names + ["never_ran"])
    with pytest.raises(TruncatedOutput):
        split_output(out + out, nonce, names)
    with pytest.raises(TruncatedOutput):
        split_output(out, new_nonce(), names)

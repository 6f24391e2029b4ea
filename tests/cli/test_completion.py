"""Shell completion generated from the parser: sourced in a real bash (and zsh/fish when installed)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from aslcheck.cli import build_parser, main
from aslcheck.cli.cmd_completion import script, tree


def _script(shell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["completion", shell]) == 0
    path = tmp_path / f"aslcheck.{shell}"
    path.write_text(capsys.readouterr().out)
    return path


def _bash_complete(script_path: Path, words: list[str], cwd: Path) -> list[str]:
    """COMPREPLY for the command line ``words`` (the last word is the one being completed)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    prog = (f"source '{script_path}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _aslcheck; "
            'printf "%s\\n" "${COMPREPLY[@]}"')
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True, text=True,
                          cwd=cwd, timeout=30, check=False)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], set[str]]:
    out = {path: {o for a in parser._actions for o in a.option_strings}}
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                out.update(_commands(sub, (*path, name)))
    return out


def test_bash_completes_subcommands_options_and_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _script("bash", tmp_path, capsys)
    (tmp_path / "snap.json").write_text("{}")
    top = _bash_complete(path, ["aslcheck", ""], tmp_path)
    assert {"check", "scan", "gate", "checks", "completion", "controls", "verify"} <= set(top)
    assert _bash_complete(path, ["aslcheck", "check", "--sev"], tmp_path) == ["--severity"]
    assert _bash_complete(path, ["aslcheck", "check", "--severity", ""], tmp_path) == [
        "critical", "high", "medium", "low"]
    assert _bash_complete(path, ["aslcheck", "controls", ""], tmp_path) == ["list", "show"]
    assert _bash_complete(path, ["aslcheck", "check", "--snapshot", "sn"], tmp_path) == ["snap.json"]
    assert _bash_complete(path, ["aslcheck", "completion", ""], tmp_path) == ["bash", "zsh", "fish"]
    assert "json" in _bash_complete(path, ["aslcheck", "check", "--format", ""], tmp_path)
    assert _bash_complete(path, ["aslcheck", "check", "--manual=r"], tmp_path) == ["--manual=report"]
    # an option's value is not taken for a subcommand: `--profile check` stays in `check`'s context
    assert "--snapshot" in _bash_complete(path, ["aslcheck", "check", "--profile", "asl3", "--sn"], tmp_path)


def test_bash_script_holds_every_subcommand_and_option_of_the_parser(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _script("bash", tmp_path, capsys)
    for cmd_path, options in _commands(build_parser()).items():
        words = ["aslcheck", *cmd_path, "-"]
        offered = set(_bash_complete(path, words, tmp_path))
        assert options <= offered, (cmd_path, options - offered)


def test_the_tree_is_read_from_the_parser() -> None:
    root = tree(build_parser())
    assert set(root.subcommands) == {p[0] for p in _commands(build_parser()) if len(p) == 1}
    check = root.subcommands["check"]
    values = {n: o.values for o in check.options for n in o.names}
    assert values["--snapshot"] == "@file" and values["--out"] == "@dir"
    assert values["--severity"] == "critical high medium low"
    assert values["--profile"] == "@any" and values["--quiet"] is None


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_loads_the_script(tmp_path: Path) -> None:
    path = tmp_path / "aslcheck.zsh"
    path.write_text(script("zsh", build_parser()))
    proc = subprocess.run(["zsh", "-f", "-c", f"autoload -U compinit && compinit -u -d {tmp_path}/zcd; "
                           f"source {path}; whence -w _aslcheck; print -r -- $_comps[aslcheck]"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "_aslcheck: function" in proc.stdout and "_aslcheck" in proc.stdout.splitlines()[-1]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes(tmp_path: Path) -> None:
    path = tmp_path / "aslcheck.fish"
    path.write_text(script("fish", build_parser()))

    def complete(line: str) -> list[str]:
        proc = subprocess.run(["fish", "--no-config", "-c", f"source {path}; complete -C'{line}'"],
                              capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return [ln.split("\t")[0] for ln in proc.stdout.splitlines()]

    assert complete("aslcheck check --severity ") == ["critical", "high", "low", "medium"]
    assert complete("aslcheck checks ") == ["list", "show"]
    assert "--profile" in complete("aslcheck controls list --")
    assert "--catalog" not in complete("aslcheck controls list --")  # a parent option after the subcommand

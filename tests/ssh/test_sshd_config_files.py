"""The sshd config file reader against OpenSSH's own rules (servconf.c): pure, on dumped records.

Real-sshd counterparts (with ``sshd -T`` as the oracle) are in test_ssh_adversarial.py.
"""

from __future__ import annotations

import pytest

from aslcheck.inventories.ssh.parsers import ParseError
from aslcheck.inventories.ssh.parsers import sshd as sshdp
from aslcheck.inventories.ssh.probe import FileRecord, RecordKind

MAIN = "/etc/ssh/sshd_config"


def f(name: str, text: str, rc: int = 0, stderr: str = "") -> FileRecord:
    return FileRecord(name, text.encode(), rc, stderr)


def listing(path: str, *names: str) -> FileRecord:
    return FileRecord(path, b"".join(f"ff {n}".encode() + b"\0" for n in names), 0, kind=RecordKind.DIR)


def parse(*records: FileRecord) -> sshdp.SshdFiles:
    return sshdp.parse_sshd_files(list(records), MAIN)


@pytest.mark.parametrize(("line", "keyword", "args"), [
    ("PasswordAuthentication=no", "passwordauthentication", ("no",)),
    ("PasswordAuthentication = no", "passwordauthentication", ("no",)),
    ("PasswordAuthentication =no", "passwordauthentication", ("no",)),
    ("PasswordAuthentication= no", "passwordauthentication", ("no",)),
    ("  passwordauthentication\tno   # trailing comment", "passwordauthentication", ("no",)),
    ('"PasswordAuthentication" "no"', "passwordauthentication", ("no",)),
    ("ChallengeResponseAuthentication yes", "kbdinteractiveauthentication", ("yes",)),
    ("Banner '/etc/issue net'", "banner", ("/etc/issue net",)),
    ("Banner /etc/issue\\ net", "banner", ("/etc/issue net",)),
    ("Include a.conf b.conf #c.conf", "include", ("a.conf", "b.conf")),
])
def test_lines_split_like_openssh(line: str, keyword: str, args: tuple[str, ...]) -> None:
    assert sshdp.split_line(line) == sshdp.Line(keyword, args)


@pytest.mark.parametrize("line", ["", "   ", "# PasswordAuthentication yes", "\t#PermitRootLogin yes"])
def test_comments_and_blank_lines(line: str) -> None:
    assert sshdp.split_line(line) is None


def test_unbalanced_quotes_and_bad_values_are_errors() -> None:
    with pytest.raises(ParseError):
        sshdp.split_line('Banner "/etc/issue')
    for text in ("PasswordAuthentication maybe\n", "PermitTunnel No\n", "X11Forwarding yes no\n",
                 "PermitRootLogin\n"):
        with pytest.raises(ParseError) as info:
            parse(f(MAIN, text))
        assert info.value.code == "BadConfig", text


def test_key_value_spellings_reach_the_same_settings() -> None:
    spaced = parse(f(MAIN, "PasswordAuthentication no\nX11Forwarding yes\n")).settings
    for text in ("PasswordAuthentication=no\nX11Forwarding=yes\n", "passwordauthentication = NO\nx11forwarding =Yes\n",
                 '"PasswordAuthentication" no # c\n  X11Forwarding\tyes\n'):
        assert parse(f(MAIN, text)).settings == spaced, text


def test_include_first_value_wins_across_files() -> None:
    parsed = parse(f(MAIN, "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n"),
                   listing("/etc/ssh/sshd_config.d", "50-cloud.conf", "10-legacy.conf", ".hidden.conf", "x.txt"),
                   f("/etc/ssh/sshd_config.d/10-legacy.conf", "PasswordAuthentication yes\n"),
                   f("/etc/ssh/sshd_config.d/50-cloud.conf", "PasswordAuthentication no\n"),
                   f("/etc/ssh/sshd_config.d/.hidden.conf", "PermitRootLogin yes\n"))
    assert parsed.settings["passwordauthentication"] == "yes"  # sorted glob: 10- before 50-
    assert parsed.settings["permitrootlogin"] == "prohibit-password"  # glob(3) skips dot files
    assert parsed.files == [MAIN, "/etc/ssh/sshd_config.d/10-legacy.conf", "/etc/ssh/sshd_config.d/50-cloud.conf"]


def test_include_relative_paths_are_under_etc_ssh() -> None:
    for main_text, included in (("Include extra.conf\n", "/etc/ssh/extra.conf"),
                                ("Include=extra.conf\n", "/etc/ssh/extra.conf"),
                                ("include sub/*.conf\n", "/etc/ssh/sub/a.conf")):
        parsed = sshdp.parse_sshd_files([f("/srv/custom/sshd_config", main_text), listing("/etc/ssh/sub", "a.conf"),
                                         f(included, "X11Forwarding yes\n")], "/srv/custom/sshd_config")
        assert parsed.settings["x11forwarding"] == "yes", main_text


def test_included_file_does_not_clobber_the_match_state() -> None:
    parsed = parse(f(MAIN, "Include /etc/ssh/tail.conf\nX11Forwarding no\n"),
                   f("/etc/ssh/tail.conf", "Match User nobody\n  X11Forwarding yes\n"))
    assert parsed.settings["x11forwarding"] == "no"  # global: sshd restores the Match state
    assert parsed.match_values["x11forwarding"] == ["yes"]


def test_include_inside_match_is_conditional() -> None:
    for inner in ("AllowTcpForwarding yes\n", "Match Address 10.0.0.0/8\n  AllowTcpForwarding yes\n"):
        parsed = parse(f(MAIN, "AllowTcpForwarding no\nMatch User backup\n  Include /etc/ssh/m.conf\n"),
                       f("/etc/ssh/m.conf", inner))
        assert parsed.settings["allowtcpforwarding"] == "no"
        assert parsed.match_values["allowtcpforwarding"] == ["yes"], inner


def test_missing_literal_include_is_tolerated_but_unread_ones_are_errors() -> None:
    missing = f("/etc/ssh/gone.conf", "", 1, "cat: /etc/ssh/gone.conf: No such file or directory")
    assert parse(f(MAIN, "Include /etc/ssh/gone.conf\n"), missing).files == [MAIN]
    assert parse(f(MAIN, "Include /etc/ssh/nodir/*.conf\n"),
                 FileRecord("/etc/ssh/nodir", b"", 1, "find: '/etc/ssh/nodir': No such file or directory",
                            RecordKind.DIR)).files == [MAIN]
    cases = [
        ([f(MAIN, "Include /etc/ssh/never-dumped.conf\n")], "NotCollected"),
        ([f(MAIN, "Include /etc/ssh/unlisted/*.conf\n")], "NotCollected"),
        ([f(MAIN, 'Include "/etc/ssh/quoted dir/x.conf"\n')], "NotCollected"),
        ([f(MAIN, "Include /etc/ssh/*/x.conf\n")], "NotDecided"),
        ([f(MAIN, "Include /etc/ssh/d/*.conf\n"),
          FileRecord("/etc/ssh/d", b"", 1, "find: '/etc/ssh/d': Permission denied", RecordKind.DIR)], "ReadFailed"),
        ([f(MAIN, "Include /etc/ssh/locked.conf\n"),
          f("/etc/ssh/locked.conf", "", 1, "cat: /etc/ssh/locked.conf: Permission denied")], "ReadFailed"),
        ([f(MAIN, "Include /etc/ssh/sshd_config\n")], "BadConfig"),  # includes itself: too deep
    ]
    for records, code in cases:
        with pytest.raises(ParseError) as info:
            parse(*records)
        assert info.value.code == code, records[0].content


def test_match_blocks_are_kept_with_unknown_keywords() -> None:
    parsed = parse(f(MAIN, "PasswordAuthentication no\n"
                           "Match User ops\n  ForceCommand /bin/true\n  PasswordAuthentication yes\n"
                           "  PasswordAuthentication no\n"
                           "Match Group admins\n  FutureLooseningOption yes\n  X11Forwarding no\n"))
    assert [b["criteria"] for b in parsed.match_blocks] == ["User ops", "Group admins"]
    assert parsed.match_blocks[0]["settings"] == {"passwordauthentication": "yes"}  # first value wins
    assert parsed.match_blocks[0]["unknown"] == []
    assert parsed.match_blocks[1]["unknown"] == ["futurelooseningoption"]
    assert parsed.match_values["passwordauthentication"] == ["yes"]

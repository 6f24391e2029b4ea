"""Fixtures: real OpenSSH ``sshd`` processes on 127.0.0.1 at free ports, and a silent TCP port.

Outside CI the sshd tests skip (with the reason) when ``sshd`` or root is missing; with
``CI=true`` they fail instead. Every server is stopped when its module ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sshd_servers import SilentServer, SshdFactory, make_factory


@pytest.fixture(scope="module")
def sshd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFactory]:
    """Module-scoped sshd factory; every server is stopped when the module ends."""
    factory = make_factory(tmp_path_factory.mktemp("sshd"))
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A port that accepts TCP and never answers."""
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()

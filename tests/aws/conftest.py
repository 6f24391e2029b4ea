"""Fixtures for AWS tests: one moto HTTP server per session on 127.0.0.1, reset per test.

Reusable by every AWS test (collector, checks, demo):

- ``moto_server``: the session-wide :class:`moto.server.ThreadedMotoServer` (stopped at the end).
- ``moto_endpoint``: function-scoped; resets moto's state (``POST /moto-api/reset``), isolates
  the process from real AWS configuration and credentials, and returns the endpoint URL.
- ``aws_proxy``: a recording, fault-injecting proxy in front of that server (see ``awsfake``).
- ``seeded_lab`` (module) and ``lab_proxy``: the ``awsseed`` lab seeded once per module, and a
  fresh proxy in front of it per test, for tests that only read.
- ``aws_collector``: builds an :class:`AwsCollector` with fake credentials and fast retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from awsfake import RecordingProxy
from awsseed import FAKE_KEY, FAST, SeededLab, moto_api, seed_lab

pytest.importorskip("moto.server")

from moto.server import ThreadedMotoServer

from aslcheck.inventories.aws import AwsCollector, build_session_factory


def _isolate(mp: pytest.MonkeyPatch, tmp: Any) -> None:
    """Hide real AWS configuration and credentials; use fake keys."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        mp.delenv(name, raising=False)
    mp.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY)
    mp.setenv("AWS_SECRET_ACCESS_KEY", FAKE_KEY)
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    mp.setenv("AWS_CONFIG_FILE", str(tmp / "aws-config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "aws-credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[ThreadedMotoServer]:
    """moto's server on a free 127.0.0.1 port for the whole session."""
    # moto answers unimplemented actions with a 500 and logs a traceback; tests assert on it.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: ThreadedMotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> str:
    """Endpoint URL of a freshly reset moto, with real AWS configuration hidden."""
    host, port = moto_server.get_host_and_port()
    url = f"http://{host}:{port}"
    moto_api(url, "reset")
    _isolate(monkeypatch, tmp_path)
    return url


@pytest.fixture
def aws_proxy(moto_endpoint: str, moto_server: ThreadedMotoServer) -> Iterator[RecordingProxy]:
    """A recording, fault-injecting proxy on 127.0.0.1 in front of the reset moto server."""
    host, port = moto_server.get_host_and_port()
    proxy = RecordingProxy(host, port).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="module")
def seeded_lab(moto_server: ThreadedMotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededLab]:
    """Reset moto once for the module and seed the lab (with AWS-managed IAM policies loaded).

    Tests using it must only read (collections, faults injected at the proxy); a module mixing
    them with ``moto_endpoint`` tests would wipe the lab.
    """
    host, port = moto_server.get_host_and_port()
    url = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("aws"))
        mp.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        moto_api(url, "reset")
        lab = seed_lab(url, aws_managed=True)
        yield SeededLab(url, lab)
        moto_api(url, "reset")


@pytest.fixture
def lab_proxy(seeded_lab: SeededLab, moto_server: ThreadedMotoServer) -> Iterator[RecordingProxy]:
    """A fresh recording proxy in front of the seeded lab (no reset)."""
    host, port = moto_server.get_host_and_port()
    proxy = RecordingProxy(host, port).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def aws_collector() -> Callable[..., AwsCollector]:
    """``make(endpoint, **kwargs)``: a collector with fake credentials and fast retries."""

    def make(endpoint: str, **kwargs: Any) -> AwsCollector:
        kwargs.setdefault("regions", ["us-east-1"])
        kwargs.setdefault("settings", FAST)
        kwargs.setdefault("max_workers", 4)
        factory = build_session_factory(region="us-east-1", access_key_id=FAKE_KEY, secret_access_key=FAKE_KEY)
        return AwsCollector(factory, endpoint_url=endpoint, **kwargs)

    return make

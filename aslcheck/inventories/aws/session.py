"""boto3 sessions and guarded, retrying, time-limited clients for the AWS collector.

The collector never builds a client itself: it asks a :class:`ClientPool` built on an injected
session factory. Every client the pool hands out has the read-only guard installed, adaptive
retries, connect/read timeouts and a connection pool sized for the worker count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aslcheck
from aslcheck.inventories.aws.readonly import install_guard

if TYPE_CHECKING:
    import boto3

SessionFactory = Callable[[], "boto3.session.Session"]
"""Returns the base session (standard credential chain, a profile, SSO...)."""

MemberSessionFactory = Callable[[str, str], "boto3.session.Session"]
"""``(account_id, role_name) -> session`` with credentials in a member account."""

GLOBAL_REGION = "us-east-1"
"""Region whose endpoints serve the global services (IAM, Organizations, S3 listing)."""


@dataclass(frozen=True)
class ClientSettings:
    """How every AWS client behaves on the wire."""

    max_attempts: int = 6
    """Retries after the first attempt, under botocore's adaptive retry mode (botocore's
    ``retries["max_attempts"]``: 0 means one attempt only). Throttling, 5xx and connection
    errors are retried with backoff; what still fails is recorded as a collection error."""
    connect_timeout: float = 5.0
    """Seconds to establish a connection."""
    read_timeout: float = 30.0
    """Seconds to wait for a response."""
    max_pool_connections: int = 16
    """HTTP connections kept per client; at least the collector's worker count."""
    endpoint_url: str | None = None
    """Send every call here instead of AWS (moto's server in tests and the demo)."""

    def botocore_config(self) -> Any:
        """The botocore ``Config`` these settings describe."""
        from botocore.config import Config

        return Config(
            retries={"mode": "adaptive", "max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=self.max_pool_connections,
            user_agent_extra=f"aslcheck/{aslcheck.__version__}",
        )


def _require_boto3() -> None:
    try:
        import boto3  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        from aslcheck.errors import MissingExtraError

        raise MissingExtraError("aws", "boto3") from exc


def build_session_factory(
    profile: str | None = None,
    region: str | None = None,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
) -> SessionFactory:
    """A factory of base sessions from the standard credential chain.

    ``profile`` selects a named profile (including SSO profiles); otherwise boto3's chain
    applies (environment, shared files, container/instance roles). Explicit keys are for tests.
    """
    _require_boto3()
    import boto3

    def factory() -> boto3.session.Session:
        return boto3.session.Session(
            profile_name=profile,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
        )

    return factory


def strip_account_host_prefix(request: Any, **_: Any) -> None:
    """Drop the ``<account>.`` host label S3 Control prepends, for a custom endpoint."""
    # NOTE: the S3 Control endpoint rules prepend "<AccountId>." even to a custom endpoint
    # URL, which cannot resolve for 127.0.0.1; moto expects the bare host. Only registered
    # when ClientSettings.endpoint_url is set, i.e. never against real AWS.
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(request.url)
    host = parts.netloc
    label, _, rest = host.partition(".")
    if label.isdigit() and len(label) == 12 and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


class ClientPool:
    """Thread-safe cache of guarded clients over one session."""

    def __init__(self, session: boto3.session.Session, settings: ClientSettings) -> None:
        self._session = session
        self._settings = settings
        self._config = settings.botocore_config()
        self._clients: dict[tuple[str, str], Any] = {}
        # NOTE: boto3 sessions are not thread-safe for client creation; clients are.
        self._lock = threading.Lock()

    @property
    def settings(self) -> ClientSettings:
        """Wire settings of the clients."""
        return self._settings

    def client(self, service: str, region: str) -> Any:
        """The guarded client of ``service`` in ``region`` (created once)."""
        key = (service, region)
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None:
                return cached
            client = self._session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self._settings.endpoint_url,
                config=self._config,
            )
            install_guard(client)
            if service == "s3control" and self._settings.endpoint_url:
                client.meta.events.register("before-sign.s3-control", strip_account_host_prefix)
            self._clients[key] = client
            return client


def build_member_session_factory(
    base: SessionFactory,
    settings: ClientSettings,
    *,
    session_name: str = "aslcheck",
    duration_seconds: int = 3600,
    external_id: str | None = None,
) -> MemberSessionFactory:
    """``(account, role) -> session`` through ``sts:AssumeRole`` from the base session.

    The STS client is a guarded pool client, so AssumeRole is subject to the same allowlist,
    retries and timeouts as every other call. Credentials are not refreshed: a single account
    scan must finish within ``duration_seconds``.
    """
    _require_boto3()
    import boto3

    lock = threading.Lock()
    state: dict[str, Any] = {}

    def factory(account_id: str, role_name: str) -> boto3.session.Session:
        with lock:
            if "pool" not in state:
                session = base()
                state["pool"] = ClientPool(session, settings)
                state["region"] = session.region_name or GLOBAL_REGION
                state["partition"] = session.get_partition_for_region(state["region"])
        sts = state["pool"].client("sts", state["region"])
        params: dict[str, Any] = {
            "RoleArn": f"arn:{state['partition']}:iam::{account_id}:role/{role_name}",
            "RoleSessionName": session_name,
            "DurationSeconds": duration_seconds,
        }
        if external_id:
            params["ExternalId"] = external_id
        creds = sts.assume_role(**params)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=state["region"],
        )

    return factory

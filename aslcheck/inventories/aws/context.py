"""Per-task call helper: every AWS read goes through :class:`Reader`, which turns failures into data.

A read answers one of three things:

- the parsed response (a dict, or for :meth:`Reader.paginate` the concatenated items);
- :class:`NotConfigured` when AWS answered with an error code the caller declared as the normal
  "nothing configured" answer (``NoSuchBucketPolicy`` ...);
- ``None`` when the read failed. The failure is already recorded as a
  :class:`~aslcheck.inventories.snapshot.CollectionError` naming the operation, the resource and
  every kind whose data is now missing; the caller leaves the affected attribute absent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aslcheck.inventories.aws.normalise import UnexpectedShape
from aslcheck.inventories.aws.readonly import ALLOWED_OPERATIONS, ReadOnlyViolation
from aslcheck.inventories.aws.session import ClientPool
from aslcheck.inventories.snapshot import CollectionError, Resource

SOURCE = "aws"
T = TypeVar("T")

LISTED = "*"
"""In a module's ``FEEDS`` table: the operation lists the kind's resources (their existence)."""
TAGS = "@tags"
"""In a module's ``FEEDS`` table: the operation reads the resources' tags."""
Feeds = Mapping[str, Mapping[str, frozenset[str]]]
"""``FEEDS``: operation -> kind -> the attributes (or :data:`LISTED`, :data:`TAGS`) it supplies.

Every collector module declares one next to ``OPERATIONS``; a test keeps it complete (every
operation has an entry) and true (denying an operation on the wire changes nothing else), and
the deny-each-operation acceptance test uses it to know which findings rest on which read."""


@dataclass(frozen=True)
class NotConfigured:
    """AWS answered with a declared "not configured" error code."""

    code: str
    """The error code (``NoSuchBucketPolicy``, ``NoSuchTagSet`` ...)."""


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """A value extracted from a response without surprises."""

    value: T
    """The extracted value."""


@dataclass
class Outcome:
    """What one task produced."""

    resources: list[Resource] = field(default_factory=list)
    """Resources built by the task."""
    errors: list[CollectionError] = field(default_factory=list)
    """Reads that failed."""
    incomplete: set[str] = field(default_factory=set)
    """Kinds whose listing failed in this task's target: not listed completely."""
    followups: list[Task] = field(default_factory=list)
    """Tasks to schedule next (per-resource detail reads)."""
    targets: set[str] = field(default_factory=set)
    """``account/region`` pairs planned (set by the account-level task)."""
    deferred: list[Deferred] = field(default_factory=list)
    """Steps to run once every task scheduled so far has finished (the next phase)."""
    shallow: dict[str, set[str]] = field(default_factory=dict)
    """Per kind, IDs of the produced resources that were read shallowly (listing and tags)."""


@dataclass(frozen=True)
class Task:
    """A unit of work for the thread pool; it never blocks on another task."""

    label: str
    """Shown in progress (``123456789012/eu-west-1 s3:bucket-name``)."""
    run: Callable[[], Outcome]
    """Does the reads; never raises for a failed read."""
    kinds: frozenset[str]
    """Kinds the task contributes to (an unexpected crash marks them incomplete)."""


@dataclass(frozen=True)
class Deferred:
    """A step that needs what a whole phase collected (e.g. the trails, to find log buckets).

    The scheduler runs it, as a task, after the queue drains, with every resource collected so
    far; its outcome may defer again (a bounded number of phases).
    """

    label: str
    """Shown in progress."""
    run: Callable[[Sequence[Resource]], Outcome]
    """Gets the resources collected so far; never raises for a failed read."""
    kinds: frozenset[str]
    """Kinds the step contributes to (an unexpected crash marks them incomplete)."""


def errors_for(op: str, kinds: str | Iterable[str], resource: str | None, code: str,
               message: str, *, account: str | None, region: str | None
               ) -> list[CollectionError]:
    """One :class:`CollectionError` per kind (the engine matches errors to checks by kind)."""
    return [
        CollectionError(source=SOURCE, operation=op, code=code, message=message,
                        resource=resource, kind=kind, account=account, region=region)
        for kind in ((kinds,) if isinstance(kinds, str) else kinds)
    ]


def error_code(exc: BaseException) -> str:
    """A stable machine-readable code for a botocore failure."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if not code or code.isdigit():
            # NOTE: moto answers an unimplemented action with an HTML 500 page; botocore then
            # reports the bare status as the code.
            code = f"HTTP{code or status or ''}"
        return code
    if isinstance(exc, ReadTimeoutError):
        return "ReadTimeout"
    if isinstance(exc, ConnectTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, EndpointConnectionError):
        return "EndpointConnectionError"
    if isinstance(exc, ConnectionClosedError):
        return "ConnectionClosed"
    if isinstance(exc, ResponseParserError):
        return "UnexpectedResponse"
    if isinstance(exc, NoCredentialsError):
        return "NoCredentials"
    return type(exc).__name__


def _client_errors() -> tuple[type[Exception], ...]:
    """What a botocore call raises for a failed read (lazy: boto3 is an optional extra)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    # NOTE: ResponseParserError (an unparsable body, e.g. moto's HTML 500 for an action it
    # does not implement) is not a BotoCoreError.
    return (BotoCoreError, ClientError, ResponseParserError)


def _method_name(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


class Reader:
    """Reads for one task in one account/region, recording each failure once."""

    def __init__(
        self,
        pool: ClientPool,
        account: str,
        region: str,
        *,
        error_region: str | None = None,
        declared: Collection[str] = ALLOWED_OPERATIONS,
        skip: Collection[str] = (),
    ) -> None:
        self.pool = pool
        """Client pool of the account's session."""
        self.account = account
        """Account the task reads."""
        self.region = region
        """Region of the clients (``us-east-1`` for global services)."""
        self.error_region = error_region or region
        """Region recorded on errors (``global`` for account-wide kinds)."""
        self._declared = frozenset(declared)
        self._skip = frozenset(skip)
        self.errors: list[CollectionError] = []
        """Failures recorded so far."""

    def _check(self, op: str) -> tuple[str, str]:
        if op not in self._declared:
            # A module calling an operation it did not declare is a bug, refused like a write.
            raise ReadOnlyViolation(op)
        service, _, name = op.partition(":")
        return service, name

    def skipped(self, op: str) -> bool:
        """Whether the caller opted out of ``op`` (its attributes stay absent, no error)."""
        return op in self._skip

    def fail(self, op: str, kinds: str | Iterable[str], resource: str | None, code: str,
             message: str) -> None:
        """Record one error per kind."""
        self.errors.extend(errors_for(op, kinds, resource, code, message, account=self.account,
                                      region=self.error_region))

    def call(
        self,
        op: str,
        kinds: str | Iterable[str],
        resource: str | None = None,
        *,
        region: str | None = None,
        expected: Collection[str] = (),
        **params: Any,
    ) -> dict[str, Any] | NotConfigured | None:
        """One API call; see the module doc for the three possible answers."""
        service, name = self._check(op)
        if op in self._skip:
            return None
        client = self.pool.client(service, region or self.region)
        try:
            response = getattr(client, _method_name(name))(**params)
        except _client_errors() as exc:
            return self._failed(op, kinds, resource, expected, exc)
        if not isinstance(response, dict):
            self.fail(op, kinds, resource, "UnexpectedResponse", "response is not an object")
            return None
        return response

    def paginate(
        self,
        op: str,
        key: str,
        kinds: str | Iterable[str],
        resource: str | None = None,
        *,
        region: str | None = None,
        expected: Collection[str] = (),
        **params: Any,
    ) -> list[Any] | NotConfigured | None:
        """Every item under ``key`` across all pages (botocore paginator)."""
        service, name = self._check(op)
        if op in self._skip:
            return None
        client = self.pool.client(service, region or self.region)
        items: list[Any] = []
        try:
            for page in client.get_paginator(_method_name(name)).paginate(**params):
                value = page.get(key, [])
                if not isinstance(value, list):
                    raise UnexpectedShape(f"{key} is not a list")
                items.extend(value)
        except UnexpectedShape as exc:
            self.fail(op, kinds, resource, "UnexpectedResponse", str(exc))
            return None
        except _client_errors() as exc:
            return self._failed(op, kinds, resource, expected, exc)
        return items

    def pages(
        self,
        op: str,
        kinds: str | Iterable[str],
        resource: str | None = None,
        *,
        region: str | None = None,
        **params: Any,
    ) -> list[dict[str, Any]] | None:
        """Every raw page of a paginated operation (for responses with several lists)."""
        service, name = self._check(op)
        if op in self._skip:
            return None
        client = self.pool.client(service, region or self.region)
        try:
            return [dict(page) for page in
                    client.get_paginator(_method_name(name)).paginate(**params)]
        except _client_errors() as exc:
            self._failed(op, kinds, resource, (), exc)
            return None

    def spread(self, mark: int, resources: Iterable[str]) -> None:
        """Re-record the errors logged since ``mark`` once per affected resource.

        A failed bulk read (``ListAliases``, ``DescribeFlowLogs`` ...) leaves an attribute absent
        on a known set of resources; naming each keeps unrelated checks decidable.
        """
        recent, self.errors[mark:] = self.errors[mark:], []
        ids = list(resources)
        for err in recent:
            if not ids:
                self.errors.append(err)
            for ident in ids:
                self.errors.append(dataclasses.replace(err, resource=ident))

    def _failed(self, op: str, kinds: str | Iterable[str], resource: str | None,
                expected: Collection[str], exc: Exception) -> NotConfigured | None:
        code = error_code(exc)
        if code in expected:
            return NotConfigured(code)
        self.fail(op, kinds, resource, code, str(exc))
        return None

    def parse(self, op: str, kinds: str | Iterable[str], resource: str | None,
              extract: Callable[..., T], *args: Any) -> Parsed[T] | None:
        """Run ``extract(*args)`` on a response; a surprise in its shape is a recorded failure."""
        try:
            return Parsed(extract(*args))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            self.fail(op, kinds, resource, "UnexpectedResponse",
                      f"unexpected response shape: {type(exc).__name__}: {exc}")
            return None


def settle(
    reader: Reader,
    attrs: dict[str, Any],
    name: str,
    op: str,
    kinds: str | Iterable[str],
    resource: str | None,
    answer: Mapping[str, Any] | NotConfigured | None,
    extract: Callable[[Mapping[str, Any]], Any],
    not_configured: Callable[[str], Any] | None = None,
) -> None:
    """Set ``attrs[name]`` from one call's answer, leaving it absent when the read failed.

    ``not_configured(code)`` gives the value for a declared "nothing configured" answer.
    """
    if answer is None:
        return
    if isinstance(answer, NotConfigured):
        if not_configured is None:  # pragma: no cover - a declared code always has a value
            raise AssertionError(f"{op}: no value for {answer.code}")
        attrs[name] = not_configured(answer.code)
        return
    got = reader.parse(op, kinds, resource, lambda: extract(answer))
    if got is not None:
        attrs[name] = got.value


@dataclass(frozen=True)
class Target:
    """One account (and, for regional modules, one region) a module plans reads for."""

    pool: ClientPool
    """Guarded clients of the account's session."""
    account: str
    """12-digit account ID."""
    partition: str
    """ARN partition (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    region: str
    """Region of the clients; the global-service region for account-wide modules."""
    skip: frozenset[str] = frozenset()
    """Operations the caller opted out of (their attributes stay absent)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Module tunables (``credential_report_wait_seconds`` ...)."""

    def reader(self, declared: Collection[str], *, error_region: str | None = None) -> Reader:
        """A fresh reader limited to ``declared`` operations."""
        return Reader(self.pool, self.account, self.region, error_region=error_region,
                      declared=declared, skip=self.skip)

    def label(self, what: str, region: str | None = None) -> str:
        """Progress label of a task."""
        return f"{self.account}/{region or self.region} {what}"


def operations_for(table: Mapping[str, Collection[str]], kinds: Iterable[str]) -> frozenset[str]:
    """Union of the operations a module declares for the requested kinds."""
    return frozenset(op for kind in kinds for op in table.get(kind, ()))

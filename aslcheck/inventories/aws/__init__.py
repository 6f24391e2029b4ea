"""AWS collector: boto3 over a read-only guard, producing the attribute model of ``docs/aws.md``.

Importing this package needs boto3 only when a collection actually runs (the ``[aws]`` extra);
the public entry points are :class:`AwsCollector` and :func:`build_session_factory`.
"""

from aslcheck.inventories.aws.collector import ALL_KINDS, AwsCollector, declared_operations
from aslcheck.inventories.aws.readonly import (
    ALLOWED_OPERATIONS,
    READ_OPERATIONS,
    ReadOnlyViolation,
)
from aslcheck.inventories.aws.session import (
    ClientSettings,
    MemberSessionFactory,
    SessionFactory,
    build_member_session_factory,
    build_session_factory,
)

__all__ = [
    "ALLOWED_OPERATIONS",
    "ALL_KINDS",
    "READ_OPERATIONS",
    "AwsCollector",
    "ClientSettings",
    "MemberSessionFactory",
    "ReadOnlyViolation",
    "SessionFactory",
    "build_member_session_factory",
    "build_session_factory",
    "declared_operations",
]

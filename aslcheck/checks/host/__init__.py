"""Host checks over ``host.*`` facts collected by the SSH collector (pure functions of the snapshot)."""

from aslcheck.checks.host import endpoint, network, sshd, weights

MODULES = (weights, sshd, network, endpoint)
"""The Python host-check modules (listed in ``aslcheck.checks.builtin.MODULES``)."""

__all__ = ["MODULES", "endpoint", "network", "sshd", "weights"]

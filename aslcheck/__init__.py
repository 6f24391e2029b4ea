"""aslcheck: verify declared ASL-2/ASL-3 security controls against live infrastructure.

Pipeline: ``controls`` (YAML catalog) -> ``inventories`` (collectors produce one immutable,
content-addressed :class:`~aslcheck.inventories.Snapshot`) -> ``checks`` (pure functions of the
snapshot) -> ``reports`` (one result model, a signed in-toto/DSSE attestation and renderers).
The library never prints or exits; :mod:`aslcheck.cli` does.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

"""``aslcheck demo``: the whole pipeline on an embedded frontier-lab environment."""

from __future__ import annotations

import argparse

from aslcheck.errors import BadInputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommand."""
    p = sub.add_parser("demo", help="run the pipeline on the embedded demo environment")
    p.add_argument("--out", default="reports", metavar="DIR")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Not wired yet."""
    raise BadInputError("the demo is not wired yet")

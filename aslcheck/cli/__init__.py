"""Thin command-line interface: parse, call the library, render, return an exit code."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from aslcheck import __version__
from aslcheck.cli import (
    cmd_check,
    cmd_checks,
    cmd_completion,
    cmd_controls,
    cmd_demo,
    cmd_diff,
    cmd_gate,
    cmd_history,
    cmd_keygen,
    cmd_merge,
    cmd_scan,
    cmd_validate,
    cmd_verify,
    cmd_waiver,
)
from aslcheck.cli.exitcodes import ExitCode
from aslcheck.errors import AslcheckError, BadInputError, VerificationError

SUBCOMMANDS = (cmd_controls, cmd_validate, cmd_check, cmd_scan, cmd_merge, cmd_gate, cmd_verify, cmd_keygen,
               cmd_demo, cmd_history, cmd_diff, cmd_waiver, cmd_checks, cmd_completion)
"""One module per subcommand; each has ``register(subparsers)`` and sets ``run``."""


class _UsageError(BadInputError):
    """Wrong command-line usage."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting with its own code 2 (ours means INCOMPLETE)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The full parser."""
    parser = _Parser(prog="aslcheck", description="Verify ASL-2/ASL-3 security controls and sign the results.")
    parser.add_argument("--version", action="version", version=f"aslcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


class _PipeSafe:
    """stdout for a pipe the reader may close (``| head``): silence, not a BrokenPipe traceback.

    The command then runs to its end and returns its real exit status: a FAIL piped into
    ``head`` must still exit 1, never 0 and never 70.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._silence()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._silence()

    def _silence(self) -> None:
        self.broken = True
        # NOTE: point the descriptor at /dev/null so the interpreter's final flush of what is
        # still buffered cannot raise again at exit (Python docs, "Note on SIGPIPE").
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; every AslcheckError is caught here, once."""
    stdout = sys.stdout
    sys.stdout = _PipeSafe(stdout)
    try:
        return _main(argv)
    finally:
        sys.stdout = stdout


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        code: int = args.run(args)
        return code
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    except VerificationError as exc:
        print("verification FAILED:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return int(ExitCode.VERIFY_FAILED)
    except AslcheckError as exc:
        print(f"aslcheck: error: {exc}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        print("aslcheck: interrupted; no partial report set was written (the report folder holds "
              "a complete set, old or new)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # a pipe other than stdout (stdout is _PipeSafe)
        return 141
    except Exception:  # noqa: BLE001 - a bug: show it, and never exit 0
        traceback.print_exc()
        print("aslcheck: internal error (a bug); please report it with the traceback above",
              file=sys.stderr)
        return int(ExitCode.INTERNAL)

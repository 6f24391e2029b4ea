"""The one error base of aslcheck, caught once at the top of the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn


@dataclass(frozen=True)
class Location:
    """Where in a user-supplied file a problem sits."""

    file: str
    """Path of the file, as the user named it."""
    line: int | None = None
    """1-based line number, when known."""
    field: str | None = None
    """Dotted path of the offending field (``controls[3].checks``), when known."""

    def __str__(self) -> str:
        out = self.file
        if self.line is not None:
            out += f":{self.line}"
        if self.field:
            out += f": {self.field}"
        return out


class AslcheckError(Exception):
    """Base of every error the library raises on purpose."""


class BadInputError(AslcheckError):
    """A user-supplied file or argument is wrong; the message says where and what was expected."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class VerificationError(AslcheckError):
    """An attestation, signature or digest did not verify; ``problems`` lists each mismatch."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class MissingExtraError(AslcheckError):
    """An optional dependency needed for this command is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this needs the optional dependency {module!r}: "
            f"pip install 'aslcheck[{extra}]'"
        )


def assert_never(value: NoReturn) -> NoReturn:
    """Exhaustiveness check over enums (``typing.assert_never`` is Python 3.11+)."""
    raise AssertionError(f"unhandled value: {value!r}")

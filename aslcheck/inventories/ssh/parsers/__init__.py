"""Pure parsers of probe output; each raises :class:`ParseError` instead of guessing."""

from __future__ import annotations


class ParseError(Exception):
    """A command's output could not be interpreted; the fact is an ERROR, never a default."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


__all__ = ["ParseError"]

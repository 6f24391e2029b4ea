"""IAM wildcard matching: ``*`` and ``?`` globs on whole strings, on string prefixes and on ARNs.

IAM patterns know only ``*`` (any run of characters) and ``?`` (one character); there are no
character classes, so :mod:`fnmatch` is not used. Besides plain matching, the evaluator asks
two questions about a *set* of strings that all start with a prefix (the objects of a bucket,
``arn:aws:s3:::BUCKET/`` + any key): can a pattern match *some* string of the set
(:func:`may_match_prefix`, used for Allow statements) and does it match *every* string of the
set (:func:`covers_prefix`, used for Deny statements). Both run a small NFA over the pattern.
"""

from __future__ import annotations

import re
from functools import lru_cache


def has_wildcard(value: str) -> bool:
    """Whether ``value`` contains an IAM wildcard."""
    return "*" in value or "?" in value


@lru_cache(maxsize=65536)
def _regex(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


@lru_cache(maxsize=65536)
def _head(pattern: str) -> str:
    """The literal part of ``pattern`` before its first wildcard."""
    cut = len(pattern)
    for ch in "*?":
        i = pattern.find(ch)
        if 0 <= i < cut:
            cut = i
    return pattern[:cut]


def glob_match(value: str, pattern: str) -> bool:
    """Case-sensitive IAM wildcard match of the whole of ``value``."""
    if not has_wildcard(pattern):
        return value == pattern
    if not value.startswith(_head(pattern)):
        return False  # NOTE: cheap reject before compiling a regex for a one-off pattern
    return _regex(pattern).fullmatch(value) is not None


def glob_match_fold(value: str, pattern: str) -> bool:
    """Case-insensitive IAM wildcard match (actions are case-insensitive)."""
    return glob_match(value.lower(), pattern.lower())


def _closure(states: set[int], pattern: str) -> set[int]:
    """Add the states reachable by letting a ``*`` match the empty string."""
    out = set(states)
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(pattern) and pattern[i] == "*" and i + 1 not in out:
            out.add(i + 1)
            todo.append(i + 1)
    return out


@lru_cache(maxsize=65536)
def _states_after(prefix: str, pattern: str) -> frozenset[int]:
    """Pattern positions the NFA can be in after reading all of ``prefix``."""
    states = _closure({0}, pattern)
    for ch in prefix:
        nxt: set[int] = set()
        for i in states:
            if i >= len(pattern):
                continue
            p = pattern[i]
            if p == "*":
                nxt.add(i)
            elif p in ("?", ch):
                nxt.add(i + 1)
        states = _closure(nxt, pattern)
        if not states:
            break
    return frozenset(states)


def _heads_agree(prefix: str, pattern: str) -> bool:
    head = _head(pattern)
    n = min(len(head), len(prefix))
    return head[:n] == prefix[:n]


def may_match_prefix(prefix: str, pattern: str) -> bool:
    """Whether ``pattern`` matches at least one string that starts with ``prefix``.

    Any live NFA state can be completed by some suffix, so liveness after the prefix suffices.
    """
    if not _heads_agree(prefix, pattern):
        return False
    if not has_wildcard(pattern):
        return pattern.startswith(prefix)
    return bool(_states_after(prefix, pattern))


def covers_prefix(prefix: str, pattern: str) -> bool:
    """Whether ``pattern`` matches every non-empty string ``prefix + s``.

    Sound, not complete: true when, after reading the prefix, the NFA can sit before a tail of
    the pattern made only of ``*`` (which absorbs any suffix). Patterns that cover the set in
    odder ways (``PREFIX?*``) are reported as not covering, which keeps a Deny from being
    over-applied: the evaluator then keeps the access, never hides it.
    """
    if not has_wildcard(pattern) or not _heads_agree(prefix, pattern):
        return False
    for i in _states_after(prefix, pattern):
        tail = pattern[i:]
        if tail and set(tail) == {"*"}:
            return True
    return False


def arn_like(value: str, pattern: str) -> bool:
    """``ArnLike``/``ArnEquals``: each of the six colon-separated ARN fields matched on its own.

    Per the IAM condition operator reference, a wildcard does not cross a field boundary; the
    last field (the resource) keeps any further colons.
    """
    if pattern == "*":
        return True
    vparts = value.split(":", 5)
    pparts = pattern.split(":", 5)
    if len(vparts) != 6 or len(pparts) != 6:
        return False  # not both ARNs: the fields cannot be compared, so they do not match
    return all(glob_match(v, p) for v, p in zip(vparts, pparts, strict=True))


def arn_account(arn: str) -> str | None:
    """The account field of an ARN (``None`` when absent or not an ARN)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts[4] or None


def arn_partition(arn: str) -> str:
    """The partition of an ARN (``aws`` when it cannot be read)."""
    parts = arn.split(":", 2)
    if len(parts) >= 2 and parts[0] == "arn" and parts[1]:
        return parts[1]
    return "aws"

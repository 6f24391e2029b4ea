"""Who holds an identity-side ``sts:AssumeRole`` Allow, indexed so a role meets only its candidates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aslcheck.checks.aws.access.directory import Directory
from aslcheck.checks.aws.access.matching import has_wildcard
from aslcheck.checks.aws.access.policy import Effect


class AssumeHolders:
    """Who has an identity-side Allow for ``sts:AssumeRole``, indexed for candidate lookup.

    Exact role ARNs map straight to their holders; wildcard patterns are grouped per account by
    their literal head (the text before the first wildcard), so a role only meets the holders
    whose head is a prefix of its ARN instead of every wildcard holder of the account.
    """

    def __init__(self, d: Directory) -> None:
        self.exact: dict[str, list[str]] = {}
        self.wild: dict[str, dict[str, list[str]]] = {}
        for pid, ident in d.identities.items():
            p = d.principals[pid]
            stmts = [st for att in ident.policies for st in att.policy.relevant("sts:assumerole")
                     if st.effect is Effect.ALLOW]
            unreadable = bool(ident.gaps) or any(att.policy.problems for att in ident.policies)
            if not stmts and not unreadable:
                continue
            heads = self.wild.setdefault(p.account or "", {})
            if unreadable:
                heads.setdefault("", []).append(pid)
                continue
            for st in stmts:
                if st.resources is None or st.problems or st.uses_variables():
                    heads.setdefault("", []).append(pid)
                    continue
                for r in st.resources:
                    if has_wildcard(r):
                        heads.setdefault(_literal_head(r), []).append(pid)
                    else:
                        self.exact.setdefault(r, []).append(pid)

    def _wild(self, heads: Mapping[str, list[str]], role: str) -> Iterable[str]:
        for head, pids in heads.items():
            if role.startswith(head):
                yield from pids

    def of_account(self, d: Directory, account: str, role: str) -> Iterable[str]:
        """Holders in ``account`` whose patterns may name ``role``."""
        yield from (pid for pid in self.exact.get(role, ()) if d.principals[pid].account == account)
        yield from self._wild(self.wild.get(account, {}), role)

    def everyone(self, role: str) -> Iterable[str]:
        """Holders in any account whose patterns may name ``role``."""
        yield from self.exact.get(role, ())
        for heads in self.wild.values():
            yield from self._wild(heads, role)


def _literal_head(pattern: str) -> str:
    cut = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=len(pattern))
    return pattern[:cut]

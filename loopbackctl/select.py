"""Host selection with Ansible's --limit grammar.

PATTERN is comma- (or colon-) separated terms: a host name, a group name (its members,
including members of its child groups), a glob over host and group names, or `~REGEX`
over host names. `!term` excludes, `&term` intersects; plain terms are unioned first.
A term without wildcards that names no host or group is an error (with a "did you
mean"), so a typo can never widen or narrow a run silently.

Selection is over every host of the inventory, managed or not; `pick` then separates the
hosts loopbackctl manages from those it skips, and says which the pattern named itself.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass

from loopbackctl.errors import UsageError
from loopbackctl.model import Host, Inventory, Unmanaged

_GLOB = re.compile(r"[*?\[]")


def _match(inv: Inventory, term: str) -> set[str]:
    names = inv.names
    if term in ("all", "*"):
        return set(names)
    if term in inv.hosts or term in inv.unmanaged:
        return {term}
    if term in inv.group_members:
        return set(inv.group_members[term])
    if term.startswith("~"):
        try:
            rx = re.compile(term[1:])
        except re.error as exc:
            raise UsageError(f"--limit: bad regular expression {term!r}: {exc}") from None
        return {h for h in names if rx.search(h)}
    if not _GLOB.search(term):
        close = difflib.get_close_matches(term, [*names, *inv.group_members], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"--limit: {term!r} is neither a host nor a group{hint}")
    hosts = {h for h in names if fnmatch.fnmatchcase(h, term)}
    groups = [g for g in inv.group_members if fnmatch.fnmatchcase(g, term)]
    for g in groups:
        hosts |= inv.group_members[g]
    return hosts


def select(inv: Inventory, pattern: str | None) -> list[str]:
    """Host names matching `pattern` (None: every host), in inventory order.

    UsageError when the pattern is empty, a plain term names nothing, or nothing matches.
    """
    if pattern is None:
        return list(inv.names)
    terms = [t.strip() for t in re.split(r"[,:]", pattern) if t.strip()]
    if not terms:
        raise UsageError(f"--limit {pattern!r} names no host; leave --limit out for all hosts")
    include: set[str] | None = None
    intersect: list[set[str]] = []
    exclude: set[str] = set()
    for term in terms:
        if term.startswith(("!", "&")) and not term[1:].strip():
            raise UsageError(f"--limit: {term!r} needs a host, group or glob after it")
        if term.startswith("!"):
            exclude |= _match(inv, term[1:].strip())
        elif term.startswith("&"):
            intersect.append(_match(inv, term[1:].strip()))
        else:
            include = (include or set()) | _match(inv, term)
    chosen = set(inv.names) if include is None else include
    for s in intersect:
        chosen &= s
    chosen -= exclude
    if not chosen:
        raise UsageError(
            f"--limit {pattern!r} matches no host; use host names, group names or globs"
        )
    return [h for h in inv.names if h in chosen]


@dataclass(frozen=True)
class Selection:
    """The hosts a pattern selects: those loopbackctl manages, those it skips (not
    managed), and the host names the pattern wrote out itself (not through a group, a
    glob or a regular expression)."""

    hosts: list[Host]
    skipped: list[Unmanaged]
    named: frozenset[str]


def pick(inv: Inventory, pattern: str | None) -> Selection:
    """`select`, split into managed and skipped hosts (both in inventory order)."""
    names = select(inv, pattern)
    terms = [t.strip() for t in re.split(r"[,:]", pattern or "")]
    named = frozenset(t for t in terms if t in inv.hosts or t in inv.unmanaged)
    return Selection(
        hosts=[inv.hosts[n] for n in names if n in inv.hosts],
        skipped=[inv.unmanaged[n] for n in names if n in inv.unmanaged],
        named=named,
    )

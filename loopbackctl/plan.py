"""Pure planning: intended loopbacks vs observed loopbacks → ordered list of Changes.

Nothing here does I/O. Platforms turn Changes into their own commands. The order is the
one devices need: removals of secondary addresses before the primary, the primary before
new secondaries, interfaces created before they are configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from loopbackctl.model import IPInterface, Loopback

ChangeKind = Literal[
    "create",
    "delete",
    "description",
    "no_description",
    "enable",
    "disable",
    "set_primary",
    "add_address",
    "remove_address",
]


@dataclass(frozen=True)
class Change:
    """One step on one interface; `address` for address steps, `text` for descriptions."""

    kind: ChangeKind
    interface: str
    address: IPInterface | None = None
    text: str | None = None

    def __str__(self) -> str:
        what = {
            "create": "create interface",
            "delete": "remove interface",
            "description": f"set description {self.text!r}",
            "no_description": "remove description",
            "enable": "bring up",
            "disable": "shut down",
            "set_primary": f"set primary address {self.address}",
            "add_address": f"add {self.address}",
            "remove_address": f"remove {self.address}",
        }[self.kind]
        return f"{self.interface}: {what}"


@dataclass(frozen=True)
class Policy:
    """How much of an interface loopbackctl owns on a platform.

    owns_interface: a loopback named in the inventory is owned whole (IOS), so addresses
    the inventory does not name are removed; otherwise (Linux lo) they are unmanaged and
    removed only under purge. `protected` addresses are never removed. `primary`: the
    platform distinguishes a primary IPv4 address (IOS).
    """

    owns_interface: bool
    primary: bool
    protected: frozenset[IPInterface] = frozenset()


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unmanaged: tuple[IPInterface, ...]

    @property
    def empty(self) -> bool:
        return not self.changes


def is_protected(addr: IPInterface, policy: Policy) -> bool:
    """Never removed: the policy's addresses and IPv6 link-local ones."""
    return addr in policy.protected or (addr.version == 6 and addr.ip.is_link_local)


def plan_loopback(
    want: Loopback,
    have: Loopback | None,
    policy: Policy,
    *,
    purge: bool = False,
    exact: bool = False,
) -> Plan:
    """Changes that make `have` into `want`. `exact` (rollback) also restores the
    description and removes every unprotected address `want` lacks."""
    name = want.name
    if want.state == "absent":
        return Plan((Change("delete", name),) if have is not None else (), ())
    changes: list[Change] = []
    if have is None:
        changes.append(Change("create", name))
        have = Loopback(name=name)
    if want.description is not None and want.description != have.description:
        changes.append(Change("description", name, text=want.description))
    elif exact and want.description is None and have.description is not None:
        changes.append(Change("no_description", name))

    wanted = set(want.addresses)
    extra = [a for a in have.addresses if a not in wanted and not is_protected(a, policy)]
    removable = set(want.absent_addresses)
    if policy.owns_interface or purge or exact:
        removable |= set(extra)
    removes = [a for a in have.addresses if a in removable and not is_protected(a, policy)]
    unmanaged = tuple(a for a in extra if a not in removable)

    adds: list[Change] = []
    want_primary = want.ipv4[0] if policy.primary and want.ipv4 else None
    have_primary = have.ipv4[0] if policy.primary and have.ipv4 else None
    if want_primary is not None and want_primary != have_primary:
        if want_primary in have.addresses and want_primary not in removes:
            # IOS refuses a primary that is already a secondary: drop that one first.
            removes.append(want_primary)
        # IOS replaces the primary in place; the old one needs no removal step...
        adds.append(Change("set_primary", name, address=want_primary))
        removes = [a for a in removes if a != have_primary]
        if have_primary is not None and have_primary in wanted:
            # ...and one that stays as a secondary must be added back.
            adds.append(Change("add_address", name, address=have_primary))
    for a in want.addresses:
        if a not in have.addresses and a != want_primary:
            adds.append(Change("add_address", name, address=a))
    # Secondaries go before the primary: IOS refuses to drop a primary that has them.
    removes.sort(key=lambda a: a == have_primary)
    changes += [Change("remove_address", name, address=a) for a in removes]
    changes += adds
    if want.shutdown != have.shutdown:
        changes.append(Change("disable" if want.shutdown else "enable", name))
    return Plan(tuple(changes), unmanaged)


def plan_host(
    want: Sequence[Loopback],
    have: Iterable[Loopback],
    policy: Policy,
    *,
    purge: bool = False,
) -> Plan:
    """Plan every loopback the inventory names; loopbacks it does not name are untouched."""
    observed = {lb.name: lb for lb in have}
    changes: list[Change] = []
    unmanaged: list[IPInterface] = []
    for lb in want:
        p = plan_loopback(lb, observed.get(lb.name), policy, purge=purge)
        changes += p.changes
        unmanaged += p.unmanaged
    return Plan(tuple(changes), tuple(unmanaged))


def plan_restore(
    before: Iterable[Loopback],
    after: Iterable[Loopback],
    touched: Iterable[str],
    policy: Policy,
) -> Plan:
    """Changes that put the `touched` interfaces back exactly as `before` had them."""
    old = {lb.name: lb for lb in before}
    new = {lb.name: lb for lb in after}
    changes: list[Change] = []
    for name in dict.fromkeys(touched):
        target = old.get(name, Loopback(name=name, state="absent"))
        changes += plan_loopback(target, new.get(name), policy, exact=True).changes
    return Plan(tuple(changes), ())


def diff_lines(have: Loopback | None, want_name: str, plan: Plan) -> list[str]:
    """The plan for one interface as a readable diff of its state: `-` what goes, `+`
    what comes, two spaces for what stays (unmanaged addresses are marked)."""
    changes = [c for c in plan.changes if c.interface == want_name]
    if not changes:
        return []
    removed = {c.address for c in changes if c.kind == "remove_address"}
    added = [c.address for c in changes if c.kind in ("add_address", "set_primary")]
    unmanaged = set(plan.unmanaged)
    lines: list[str] = []
    kinds = {c.kind for c in changes}
    if "set_primary" in kinds and have is not None and have.ipv4:
        removed.add(have.ipv4[0])  # IOS replaces the primary in place
    if "create" in kinds:
        lines.append(f"+ interface {want_name}")
    if "delete" in kinds:
        lines.append(f"- interface {want_name}")
    if have is not None:
        now = "DOWN" if have.shutdown else "UP"
        if kinds & {"enable", "disable"}:
            lines += [f"- state {now}", f"+ state {'UP' if 'enable' in kinds else 'DOWN'}"]
        elif "delete" not in kinds:
            lines.append(f"  state {now}")
    elif "enable" in kinds or "create" in kinds:
        lines.append(f"+ state {'DOWN' if 'disable' in kinds else 'UP'}")
    for c in changes:
        if c.kind == "description":
            if have is not None and have.description:
                lines.append(f"- description {have.description}")
            lines.append(f"+ description {c.text}")
        elif c.kind == "no_description" and have is not None:
            lines.append(f"- description {have.description}")
    for a in have.addresses if have is not None else ():
        if a in removed or "delete" in kinds:
            lines.append(f"- {a}")
        elif a not in added:
            lines.append(f"  {a}" + ("  (unmanaged)" if a in unmanaged else ""))
    lines += [f"+ {a}" for a in added if a is not None]
    return lines

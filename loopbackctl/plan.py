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
    "vrf",
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
            "vrf": f"forward in VRF {self.text}" if self.text else "forward in the global table",
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
    """Changes in order, addresses left alone, and `scope`: every interface planned (the
    ones a driver may touch to carry the plan out; no other)."""

    changes: tuple[Change, ...]
    unmanaged: tuple[IPInterface, ...]
    scope: tuple[str, ...] = ()

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
    changes += _description_changes(want, have, exact)
    if want.vrf != have.vrf:
        changes.append(Change("vrf", name, text=want.vrf))
    removes, adds, unmanaged = _address_changes(want, have, policy, purge or exact)
    changes += [Change("remove_address", name, address=a) for a in removes]
    changes += adds
    if want.shutdown != have.shutdown:
        changes.append(Change("disable" if want.shutdown else "enable", name))
    return Plan(tuple(changes), unmanaged)


def _description_changes(want: Loopback, have: Loopback, exact: bool) -> list[Change]:
    if want.description is not None and want.description != have.description:
        return [Change("description", want.name, text=want.description)]
    if exact and want.description is None and have.description is not None:
        return [Change("no_description", want.name)]
    return []


def _address_changes(
    want: Loopback, have: Loopback, policy: Policy, remove_extra: bool
) -> tuple[list[IPInterface], list[Change], tuple[IPInterface, ...]]:
    """(addresses to remove in order, additions in order, unmanaged addresses left)."""
    wanted = set(want.addresses)
    extra = [a for a in have.addresses if a not in wanted and not is_protected(a, policy)]
    removable = set(want.absent_addresses)
    if policy.owns_interface or remove_extra:
        removable |= set(extra)
    removes = [a for a in have.addresses if a in removable and not is_protected(a, policy)]
    unmanaged = tuple(a for a in extra if a not in removable)
    want_primary = want.ipv4[0] if policy.primary and want.ipv4 else None
    have_primary = have.ipv4[0] if policy.primary and have.ipv4 else None
    adds: list[Change] = []
    if want_primary is not None and want_primary != have_primary:
        removes, adds = _swap_primary(want, have, want_primary, have_primary, removes)
    adds += [
        Change("add_address", want.name, address=a)
        for a in want.addresses
        if a not in have.addresses and a != want_primary
    ]
    # Secondaries go before the primary: IOS refuses to drop a primary that has them.
    removes.sort(key=lambda a: a == have_primary)
    return removes, adds, unmanaged


def _swap_primary(
    want: Loopback,
    have: Loopback,
    new: IPInterface,
    old: IPInterface | None,
    removes: list[IPInterface],
) -> tuple[list[IPInterface], list[Change]]:
    """IOS replaces the primary in place: the old one needs no removal step, and one that
    stays as a secondary is added back; a new primary that is a secondary now must be
    dropped first (IOS refuses a primary that is already a secondary)."""
    if new in have.addresses and new not in removes:
        removes = [*removes, new]
    adds = [Change("set_primary", want.name, address=new)]
    removes = [a for a in removes if a != old]
    if old is not None and old in want.addresses:
        adds.append(Change("add_address", want.name, address=old))
    return removes, adds


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
    return Plan(tuple(changes), tuple(unmanaged), tuple(lb.name for lb in want))


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
    scope = tuple(dict.fromkeys(touched))
    for name in scope:
        target = old.get(name, Loopback(name=name, state="absent"))
        changes += plan_loopback(target, new.get(name), policy, exact=True).changes
    return Plan(tuple(changes), (), scope)


def diff_lines(have: Loopback | None, want_name: str, plan: Plan) -> list[str]:
    """The plan for one interface as a readable diff of its state: `-` what goes, `+`
    what comes, two spaces for what stays (unmanaged addresses are marked)."""
    changes = [c for c in plan.changes if c.interface == want_name]
    if not changes:
        return []
    kinds = {c.kind for c in changes}
    lines: list[str] = []
    if "create" in kinds:
        lines.append(f"+ interface {want_name}")
    if "delete" in kinds:
        lines.append(f"- interface {want_name}")
    lines += _state_diff(have, kinds)
    lines += _description_diff(have, changes)
    lines += _vrf_diff(have, changes)
    return lines + _address_diff(have, changes, set(plan.unmanaged))


def _state_diff(have: Loopback | None, kinds: set[ChangeKind]) -> list[str]:
    if have is None:
        if kinds & {"enable", "create"}:
            return [f"+ state {'DOWN' if 'disable' in kinds else 'UP'}"]
        return []
    now = "DOWN" if have.shutdown else "UP"
    if kinds & {"enable", "disable"}:
        return [f"- state {now}", f"+ state {'UP' if 'enable' in kinds else 'DOWN'}"]
    return [] if "delete" in kinds else [f"  state {now}"]


def _description_diff(have: Loopback | None, changes: Sequence[Change]) -> list[str]:
    lines: list[str] = []
    old = have.description if have is not None else None
    for c in changes:
        if c.kind == "description":
            lines += [f"- description {old}"] if old else []
            lines.append(f"+ description {c.text}")
        elif c.kind == "no_description" and have is not None:
            lines.append(f"- description {old}")
    return lines


def _vrf_diff(have: Loopback | None, changes: Sequence[Change]) -> list[str]:
    lines: list[str] = []
    for c in changes:
        if c.kind == "vrf":
            lines += [f"- vrf {have.vrf}"] if have is not None and have.vrf else []
            lines += [f"+ vrf {c.text}"] if c.text else []
    return lines


def _address_diff(
    have: Loopback | None, changes: Sequence[Change], unmanaged: set[IPInterface]
) -> list[str]:
    kinds = {c.kind for c in changes}
    removed = {c.address for c in changes if c.kind == "remove_address"}
    added = [c.address for c in changes if c.kind in ("add_address", "set_primary")]
    if "set_primary" in kinds and have is not None and have.ipv4:
        removed.add(have.ipv4[0])  # IOS replaces the primary in place
    lines: list[str] = []
    for a in have.addresses if have is not None else ():
        if a in removed or "delete" in kinds:
            lines.append(f"- {a}")
        elif a not in added:
            lines.append(f"  {a}" + ("  (unmanaged)" if a in unmanaged else ""))
    return lines + [f"+ {a}" for a in added if a is not None]

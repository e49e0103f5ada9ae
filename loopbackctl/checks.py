"""Judging a device's state: intended loopbacks + observed + plan → named Checks. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from loopbackctl.model import IPInterface, Loopback
from loopbackctl.plan import Plan, Policy, is_protected
from loopbackctl.result import Check


def state_checks(
    want: Sequence[Loopback], have: Sequence[Loopback], plan: Plan, policy: Policy
) -> list[Check]:
    """Per interface and address: present, missing, unexpected, unmanaged; and up/down.
    A plan with changes that no check explains adds a failed "plan" check."""
    observed = {lb.name: lb for lb in have}
    unmanaged = set(plan.unmanaged)
    checks: list[Check] = []
    for lb in want:
        checks += _loopback_checks(lb, observed.get(lb.name), unmanaged, policy)
    if not plan.empty and all(c.ok or c.severity != "error" for c in checks):
        pending = "; ".join(str(c) for c in plan.changes)
        checks.append(Check("plan", False, f"differs: {pending}"))
    return checks


def _loopback_checks(
    lb: Loopback, h: Loopback | None, unmanaged: set[IPInterface], policy: Policy
) -> list[Check]:
    n = lb.name
    if lb.state == "absent":
        return [Check(f"{n} absent", h is None, "absent" if h is None else "present")]
    if h is None:
        return [Check(f"{n} present", False, f"missing: {n} does not exist")]
    state = "DOWN" if h.shutdown else "UP"
    checks = [
        Check(f"{n} {'down' if lb.shutdown else 'up'}", h.shutdown == lb.shutdown, f"{n} {state}")
    ]
    if lb.description is not None:
        ok = h.description == lb.description
        checks.append(Check(f"{n} description", ok, f"description {h.description!r}"))
    if lb.vrf != h.vrf:
        checks.append(Check(f"{n} vrf", False, f"in {_table(h.vrf)}, not {_table(lb.vrf)}"))
    if policy.primary and lb.ipv4:
        ok = bool(h.ipv4) and h.ipv4[0] == lb.ipv4[0]
        now = h.ipv4[0] if h.ipv4 else "none"
        checks.append(Check(f"{n} primary {lb.ipv4[0]}", ok, f"primary is {now}"))
    for a in lb.addresses:
        ok = a in h.addresses
        checks.append(Check(f"{n} {a}", ok, f"{a} {'present' if ok else 'missing'}"))
    for a in lb.absent_addresses:
        ok = a not in h.addresses
        detail = f"{a} absent" if ok else f"{a} unexpected: listed under absent_addresses"
        checks.append(Check(f"{n} {a} absent", ok, detail))
    named = set(lb.addresses) | set(lb.absent_addresses)
    for a in h.addresses:
        if a in named or is_protected(a, policy):
            continue
        if a in unmanaged:
            detail = f"{a} unmanaged: not in the inventory, left alone"
            checks.append(Check(f"{n} {a}", True, detail, "info"))
        else:
            checks.append(Check(f"{n} {a}", False, f"{a} unexpected: not in the inventory (purge)"))
    return checks


def _table(vrf: str | None) -> str:
    return f"VRF {vrf}" if vrf else "the global table"


def with_health(health: Sequence[Check], checks: Sequence[Check]) -> list[Check]:
    """A driver's health checks with the common ones: a health check named like a common
    check takes its place (it says why); the others come first, in the driver's order."""
    by_name = {c.name: c for c in health}
    common = {c.name for c in checks}
    return [c for c in health if c.name not in common] + [by_name.get(c.name, c) for c in checks]

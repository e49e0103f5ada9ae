"""Judging `lo`'s state: LoState + what is expected → named Checks. Pure.

Severity: "error" fails the run; "warning" is reported and does not; "info" with
ok=False means "not applicable" (IPv6 disabled), never "broken".
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from loopbackctl.local.state import (
    LO_MTU,
    LOOPBACK4,
    LOOPBACK6,
    IPInterface,
    Ipv6Status,
    LoState,
    show,
)
from loopbackctl.result import Check


@dataclass(frozen=True)
class Expected:
    """The extra addresses the inventory declares for this machine's lo.

    `host` is the inventory host standing for this machine (None: none does), `how` says
    in words how it was chosen or why there is none.
    """

    host: str | None
    how: str
    addresses: tuple[IPInterface, ...] = ()
    absent: tuple[IPInterface, ...] = ()


def result_word(check: Check) -> str:
    """ok / FAIL / warn / n/a: how a check reads in tables and the local JSON `result`."""
    if check.ok:
        return "ok"
    return {"error": "FAIL", "warning": "warn"}.get(check.severity, "n/a")


def not_applicable(name: str, ipv6: Ipv6Status) -> Check:
    return Check(name, False, f"not applicable: IPv6 is disabled ({ipv6.reason})", "info")


def link_checks(state: LoState | None) -> list[Check]:
    """lo exists, is a loopback, is UP with LOWER_UP, has the usual MTU."""
    if state is None:
        missing = "there is no interface named lo in this network namespace"
        return [
            Check("lo exists", False, missing),
            Check("lo type", False, missing),
            Check("lo up", False, missing),
            Check("lo mtu", False, missing),
        ]
    checks = [Check("lo exists", True, f"lo is interface {state.ifindex}")]
    if state.link_type == "loopback":
        checks.append(Check("lo type", True, "link_type loopback"))
    else:
        checks.append(Check("lo type", False, f"link_type is {state.link_type}, not loopback"))
    flags = ",".join(sorted(state.flags)) or "none"
    if state.up and state.lower_up:
        checks.append(Check("lo up", True, f"flags {flags} (operstate {state.operstate})"))
    elif not state.up:
        checks.append(
            Check(
                "lo up",
                False,
                f"lo is DOWN (flags {flags}); nothing reaches 127.0.0.1 or ::1:"
                " `loopbackctl apply --local` (or `ip link set dev lo up`) brings it up",
            )
        )
    else:
        checks.append(Check("lo up", False, f"lo is UP but not LOWER_UP (flags {flags})"))
    if state.mtu == LO_MTU:
        checks.append(Check("lo mtu", True, f"mtu {state.mtu}"))
    else:
        checks.append(Check("lo mtu", False, f"mtu {state.mtu}, not the usual {LO_MTU}", "warning"))
    return checks


def ipv6_check(ipv6: Ipv6Status) -> Check:
    if ipv6.enabled:
        return Check("ipv6 enabled", True, f"IPv6 is enabled on lo ({ipv6.reason})")
    return Check(
        "ipv6 enabled",
        False,
        f"IPv6 is disabled on lo ({ipv6.reason}); the ::1 checks do not apply",
        "warning",
    )


def address_checks(
    state: LoState | None, ipv6: Ipv6Status, expected: Expected
) -> tuple[list[Check], list[str]]:
    """127.0.0.1/8, ::1/128, the inventory's addresses; and the addresses nobody named."""
    have = state.addresses if state is not None else frozenset()
    checks = [_base_check(LOOPBACK4, have, state)]
    if ipv6.enabled:
        checks.append(_base_check(LOOPBACK6, have, state))
    else:
        checks.append(not_applicable(f"addr {LOOPBACK6}", ipv6))

    if expected.host is None:
        checks.append(Check("inventory", True, f"{expected.how}; no extra addresses expected"))
    else:
        n = len(expected.addresses)
        checks.append(
            Check("inventory", True, f"{expected.how}: {n} extra address(es) on lo expected")
        )
    for addr in expected.addresses:
        if addr in have:
            checks.append(Check(f"addr {addr}", True, f"present (inventory host {expected.host})"))
            continue
        why = f"missing (inventory host {expected.host} declares it)"
        if addr.version == 6 and not ipv6.enabled:
            why += f"; lo cannot hold it while IPv6 is disabled ({ipv6.reason})"
        elif addr.version == 6 and not addr.ip.is_loopback:
            why += "; taking lo down deletes its global IPv6 addresses"
        checks.append(Check(f"addr {addr}", False, f"{why}: `loopbackctl apply --local` adds it"))
    for addr in expected.absent:
        if addr in have:
            checks.append(
                Check(
                    f"absent {addr}",
                    False,
                    f"present, but inventory host {expected.host} lists it in absent_addresses",
                )
            )
        else:
            checks.append(Check(f"absent {addr}", True, "not on lo, as the inventory says"))

    named = {LOOPBACK4, LOOPBACK6, *expected.addresses, *expected.absent}
    unmanaged = sorted(have - named, key=lambda a: (a.version, int(a.ip), a.network.prefixlen))
    detail = (
        f"on lo but not named by the inventory (left alone): {show(unmanaged)}"
        if unmanaged
        else "none: lo holds only the addresses named above"
    )
    checks.append(Check("unmanaged", True, detail))
    return checks, [str(a) for a in unmanaged]


def _base_check(addr: IPInterface, have: frozenset[IPInterface], state: LoState | None) -> Check:
    name = f"addr {addr}"
    if addr in have:
        return Check(name, True, "present")
    same_ip = [a for a in have if a.ip == addr.ip]
    if same_ip:
        return Check(name, False, f"missing: lo has {show(same_ip)} instead")
    if state is not None and not state.up:
        return Check(name, False, "missing; lo is DOWN, and bringing it up restores it")
    return Check(name, False, "missing: `loopbackctl apply --local` restores it")


def explain_errno(err: int | None, address: str) -> str:
    """Why a packet to a loopback address could not go, in words."""
    if err == errno.ENETUNREACH:
        return f"network unreachable: no route to {address} (lo is DOWN or has no address for it)"
    if err == errno.EADDRNOTAVAIL:
        return f"{address} is not assigned to lo (cannot send from or bind to it)"
    if err == errno.EHOSTUNREACH:
        return f"host unreachable: {address} (a route or firewall rule rejects it)"
    if err == errno.EACCES or err == errno.EPERM:
        return f"not permitted: a firewall rule or policy forbids packets to {address}"
    if err == errno.ECONNREFUSED:
        return f"connection refused by {address}"
    if err == errno.EAFNOSUPPORT:
        return "the kernel does not support this address family"
    return os.strerror(err) if err else "unknown error"

"""lo's health as one read found it: link facts, IPv6, and why intended addresses are
missing. Pure: LoState + Ipv6Status + the intended lo → Checks.

Severity: "error" fails the host; "warning" is reported and does not; "info" with
ok=False means "not applicable" (IPv6 disabled), never "broken". Checks named like the
common address checks ("lo ADDRESS") take their place in the report: they say why.

Kernel facts behind the words: lo's operstate reads UNKNOWN when it works (the flags
count); bringing lo up makes the kernel add 127.0.0.1/8 (and ::1/128 while IPv6 is
enabled); taking lo down deletes its global IPv6 addresses, which do not come back.
"""

from __future__ import annotations

from loopbackctl.model import Loopback
from loopbackctl.platforms.linux import LOOPBACK4, LOOPBACK6
from loopbackctl.platforms.linux.parse import LO_MTU, Ipv6Status, LoState
from loopbackctl.result import Check


def link_checks(state: LoState, ipv6: Ipv6Status) -> list[Check]:
    """lo exists, is a loopback, is UP with LOWER_UP, has the usual MTU; IPv6 enabled."""
    flags = ",".join(sorted(state.flags)) or "none"
    checks = [
        Check("lo exists", True, f"lo is interface {state.ifindex}"),
        Check("lo type", True, f"link_type {state.link_type}"),
    ]
    if state.up and state.lower_up:
        checks.append(Check("lo up", True, f"flags {flags} (operstate {state.operstate})"))
    elif not state.up:
        checks.append(
            Check(
                "lo up",
                False,
                f"lo is DOWN (flags {flags}); nothing reaches 127.0.0.1 or ::1: apply"
                " (or `ip link set dev lo up`) brings it up",
            )
        )
    else:
        checks.append(Check("lo up", False, f"lo is UP but not LOWER_UP (flags {flags})"))
    if state.mtu == LO_MTU:
        checks.append(Check("lo mtu", True, f"mtu {state.mtu}"))
    else:
        checks.append(Check("lo mtu", False, f"mtu {state.mtu}, not the usual {LO_MTU}", "warning"))
    if ipv6.enabled:
        checks.append(Check("ipv6 enabled", True, f"IPv6 is enabled on lo ({ipv6.reason})"))
    else:
        checks.append(
            Check(
                "ipv6 enabled",
                False,
                f"IPv6 is disabled on lo ({ipv6.reason}); the ::1 checks do not apply",
                "warning",
            )
        )
    return checks


def address_checks(state: LoState, ipv6: Ipv6Status, lo: Loopback) -> list[Check]:
    """For the intended `lo` (inventory addresses, without the kernel's): what lo cannot
    hold while IPv6 is disabled, and why a kernel or global IPv6 address is missing."""
    have = set(state.addresses)
    checks: list[Check] = []
    for kernel in (LOOPBACK4, LOOPBACK6):
        name = f"lo {kernel}"
        if kernel.version == 6 and not ipv6.enabled:
            checks.append(
                Check(name, False, f"not applicable: IPv6 is disabled ({ipv6.reason})", "info")
            )
        elif kernel not in have and not state.up:
            checks.append(
                Check(name, False, f"{kernel} missing; lo is DOWN, and bringing it up restores it")
            )
    for a in lo.addresses:
        if a.version != 6 or a in have or a in (LOOPBACK4, LOOPBACK6):
            continue
        if not ipv6.enabled:
            why = f"lo cannot hold it while IPv6 is disabled ({ipv6.reason})"
        elif not a.ip.is_loopback:
            why = "taking lo down deletes its global IPv6 addresses; apply adds it back"
        else:
            continue
        checks.append(Check(f"lo {a}", False, f"{a} missing: {why}"))
    return checks

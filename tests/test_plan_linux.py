"""Pure planning for Linux lo (Policy: unmanaged addresses left alone unless purge,
127.0.0.1/8, ::1/128 and link-local never removed), restore plans, and the diff view."""

from __future__ import annotations

import ipaddress

from loopbackctl.model import Loopback
from loopbackctl.plan import Change, Policy, diff_lines, plan_host, plan_restore

A = ipaddress.ip_interface
LINUX = Policy(
    owns_interface=False, primary=False, protected=frozenset({A("127.0.0.1/8"), A("::1/128")})
)
BASE = (A("127.0.0.1/8"), A("::1/128"))


def lo(*addrs: str, up: bool = True, absent: tuple[str, ...] = ()) -> Loopback:
    return Loopback(
        name="lo",
        addresses=tuple(A(a) for a in addrs),
        shutdown=not up,
        absent_addresses=tuple(A(a) for a in absent),
    )


def have(*addrs: str, up: bool = True) -> Loopback:
    return Loopback(name="lo", addresses=(*BASE, *(A(a) for a in addrs)), shutdown=not up)


def test_converged_plans_nothing() -> None:
    p = plan_host([lo("198.18.1.1/32")], [have("198.18.1.1/32")], LINUX)
    assert p.empty and p.unmanaged == ()


def test_adds_brings_up_and_removes_only_named_absent_addresses() -> None:
    want = lo("198.18.1.1/32", "2001:db8:1::1/128", absent=("198.18.9.9/32",))
    now = have("198.18.9.9/32", "198.18.7.7/32", "fe80::1/64", up=False)
    p = plan_host([want], [now], LINUX)
    assert p.changes == (
        Change("remove_address", "lo", A("198.18.9.9/32")),
        Change("add_address", "lo", A("198.18.1.1/32")),
        Change("add_address", "lo", A("2001:db8:1::1/128")),
        Change("enable", "lo"),
    )
    assert p.unmanaged == (A("198.18.7.7/32"),)  # reported, left alone


def test_purge_removes_unmanaged_but_never_protected_or_link_local() -> None:
    now = have("198.18.7.7/32", "127.0.0.2/8", "fe80::1/64")
    p = plan_host([lo("198.18.1.1/32")], [now], LINUX, purge=True)
    removed = {c.address for c in p.changes if c.kind == "remove_address"}
    assert removed == {A("198.18.7.7/32"), A("127.0.0.2/8")}
    assert p.unmanaged == ()


def test_absent_address_not_present_is_nothing_to_do() -> None:
    assert plan_host([lo(absent=("198.18.9.9/32",))], [have()], LINUX).empty


def test_restore_undoes_exactly_what_changed() -> None:
    before = [Loopback(name="lo", shutdown=True)]  # fresh namespace: DOWN, no address
    after = [have("198.18.1.1/32", "2001:db8:1::1/128")]
    p = plan_restore(before, after, ["lo"], LINUX)
    assert set(p.changes) == {
        Change("remove_address", "lo", A("198.18.1.1/32")),
        Change("remove_address", "lo", A("2001:db8:1::1/128")),
        Change("disable", "lo"),
    }
    # Restored (the kernel keeps 127.0.0.1/8 on a down lo): nothing left to undo.
    assert plan_restore(before, [have(up=False)], ["lo"], LINUX).empty


def test_restore_puts_back_a_removed_address_and_removes_a_partial_add() -> None:
    before = [have("198.18.9.9/32")]
    after = [have("198.18.1.1/32")]  # push cut after removing 9.9 and adding 1.1
    p = plan_restore(before, after, ["lo"], LINUX)
    assert set(p.changes) == {
        Change("remove_address", "lo", A("198.18.1.1/32")),
        Change("add_address", "lo", A("198.18.9.9/32")),
    }


def test_diff_lines_read_like_a_unified_diff() -> None:
    want = lo("198.18.1.1/32", absent=("198.18.9.9/32",))
    now = have("198.18.9.9/32", "198.18.7.7/32", up=False)
    p = plan_host([want], [now], LINUX)
    assert diff_lines(now, "lo", p) == [
        "- state DOWN",
        "+ state UP",
        "  127.0.0.1/8",
        "  ::1/128",
        "- 198.18.9.9/32",
        "  198.18.7.7/32  (unmanaged)",
        "+ 198.18.1.1/32",
    ]
    assert (
        diff_lines(have("198.18.1.1/32"), "lo", plan_host([want], [have("198.18.1.1/32")], LINUX))
        == []
    )


def test_diff_lines_for_router_interfaces() -> None:
    ios = Policy(owns_interface=True, primary=True)
    want = Loopback("Loopback0", (A("10.0.0.1/32"),), description="rid")
    p = plan_host([want], [], ios)
    assert diff_lines(None, "Loopback0", p) == [
        "+ interface Loopback0",
        "+ state UP",
        "+ description rid",
        "+ 10.0.0.1/32",
    ]
    old = Loopback("Loopback0", (A("10.0.0.9/32"),), description="old")
    p = plan_host([want], [old], ios)
    lines = diff_lines(old, "Loopback0", p)
    assert "- 10.0.0.9/32" in lines and "+ 10.0.0.1/32" in lines
    assert lines.index("- description old") < lines.index("+ description rid")

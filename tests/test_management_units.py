"""Which plans cut the management path (loopbackctl.management), without a device."""

from __future__ import annotations

import ipaddress

from loopbackctl import management
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Change, Plan

A = ipaddress.ip_address("198.51.100.1")


def lb(name: str, *addrs: str) -> Loopback:
    return Loopback(name, tuple(ipaddress.ip_interface(a) for a in addrs))


def plan(*changes: Change) -> Plan:
    return Plan(tuple(changes), ())


def addr(kind: str, name: str, a: str) -> Change:
    return Change(kind, name, address=ipaddress.ip_interface(a))  # type: ignore[arg-type]


BEFORE = (lb("Loopback0", "198.51.100.1/32", "198.51.100.7/32"), lb("Loopback1", "192.0.2.1/32"))


def test_changes_that_take_the_address_away() -> None:
    for change in (
        addr("remove_address", "Loopback0", "198.51.100.1/32"),
        Change("delete", "Loopback0"),
        Change("disable", "Loopback0"),
        Change("vrf", "Loopback0", text="MGMT"),
        addr("set_primary", "Loopback0", "198.51.100.9/32"),  # replaces the primary
    ):
        c = management.cut(A, BEFORE, plan(Change("create", "Loopback9"), change))
        assert c is not None and c.change == change and c.loopback == "Loopback0", change


def test_changes_that_leave_it() -> None:
    for change in (
        addr("add_address", "Loopback0", "198.51.100.9/32"),
        addr("remove_address", "Loopback0", "198.51.100.7/32"),
        Change("description", "Loopback0", text="x"),
        Change("delete", "Loopback1"),
    ):
        assert management.cut(A, BEFORE, plan(change)) is None, change
    # Not on a loopback at all (an out-of-band management port).
    gone = plan(Change("delete", "Loopback0"))
    assert management.cut(ipaddress.ip_address("203.0.113.5"), BEFORE, gone) is None
    # A secondary is not replaced by a new primary.
    secondary = (lb("Loopback0", "198.51.100.7/32", "198.51.100.1/32"),)
    assert (
        management.cut(A, secondary, plan(addr("set_primary", "Loopback0", "1.1.1.1/32"))) is None
    )


def test_where_to_reconnect() -> None:
    host = Host("r1", "cisco_ios", hostname="198.51.100.1")
    moved = Host("r1", "cisco_ios", hostname="198.51.100.1", settings={"management_address": "x"})
    remove = addr("remove_address", "Loopback0", "198.51.100.1/32")
    c = management.cut(A, BEFORE, plan(remove))
    assert c is not None
    # Removed and not put back: the hostname leads nowhere after the change.
    assert "no data.management_address" in (management.stranded(host, c, plan(remove)) or "")
    assert management.stranded(moved, c, plan(remove)) is None
    # A prefix change removes and adds it back: the hostname still leads there.
    readd = plan(remove, addr("add_address", "Loopback0", "198.51.100.1/31"))
    assert management.stranded(host, c, readd) is None
    assert management.reconnect_to(moved) == "x" and management.reconnect_to(host) == A.compressed
    via = management.via(
        Host("r1", "linux", hostname="h", connection_options={"netmiko": {"hostname": "h2"}}), "n"
    )
    assert via.hostname == "n" and "hostname" not in via.connection_options["netmiko"]
    assert management.session_address(Host("r1", "linux", hostname="[2001:db8::1]")) == (
        ipaddress.ip_address("2001:db8::1")
    )

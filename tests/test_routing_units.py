"""Routing truth judged without routers: router-ids (intended, stale, what applies a new
one), collisions across the fleet, the mesh's words for each failure, plan-time impact."""

from __future__ import annotations

import ipaddress

from loopbackctl import routing
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Change, Plan
from loopbackctl.result import Check, HostResult, LiveRouterId
from loopbackctl.routing import MeshTarget, Probe, RouterIdFact, RouteSeen

IP = ipaddress.ip_interface
V4 = ipaddress.IPv4Address


def router(name: str = "r1", *addresses: str, router_id: str | None = None, **kw: object) -> Host:
    lbs = [Loopback("lo", tuple(IP(a) for a in addresses))]
    for vrf, addrs in kw.items():
        lbs.append(Loopback(f"Loopback{len(lbs)}", tuple(IP(a) for a in addrs), vrf=vrf))  # type: ignore[attr-defined]
    return Host(name, "frr", loopbacks=tuple(lbs), router_id=V4(router_id) if router_id else None)


def fact(
    proto: str = "ospf",
    live: str = "10.255.0.1",
    configured: str | None = None,
    vrf: str = "default",
    clear: str | None = "clear ip ospf process",
) -> RouterIdFact:
    return RouterIdFact(
        proto,
        vrf,
        V4(live),
        V4(configured) if configured else None,
        f"{proto} router-id",
        f"router {proto}",
        clear,
    )


def test_intended_router_id_is_data_router_id_else_the_highest_loopback_ipv4() -> None:
    h = router("r1", "10.255.0.1/32", "10.255.0.9/32", "2001:db8::1/128")
    assert routing.intended_router_id(h, "default") == (V4("10.255.0.9"), "highest loopback IPv4")
    h = router("r1", "10.255.0.1/32", router_id="10.0.0.7")
    assert routing.intended_router_id(h, "default") == (V4("10.0.0.7"), "data.router_id")
    h = router("r1", "10.255.0.1/32", red=["10.9.9.9/32"])
    assert routing.intended_router_id(h, "red") == (V4("10.9.9.9"), "highest loopback IPv4")
    assert routing.intended_router_id(h, "blue") == (None, "")


def test_as_intended_and_each_kind_of_stale() -> None:
    h = router("r1", "10.255.0.1/32")
    (ok,) = routing.router_id_checks(h, [fact(live="10.255.0.1")])
    assert ok == Check("router-id ospf", True, "10.255.0.1, as intended (highest loopback IPv4)")

    (stale,) = routing.router_id_checks(h, [fact(live="10.255.0.7", configured="10.255.0.1")])
    assert not stale.ok
    assert stale.detail == (
        "stale router-id: ospf uses 10.255.0.7, intended 10.255.0.1 (highest loopback IPv4);"
        " `ospf router-id 10.255.0.1` is configured under `router ospf`, then `clear ip ospf"
        " process` applies it (it resets the ospf process)"
    )
    (other,) = routing.router_id_checks(h, [fact(live="10.255.0.7", configured="10.255.0.7")])
    assert "`ospf router-id 10.255.0.7` is configured under `router ospf`: set `ospf" in (
        other.detail
    )
    (sticky,) = routing.router_id_checks(h, [fact(live="10.255.0.7")])
    assert sticky.detail.endswith(
        "ospf keeps the router-id it started with: configure `ospf router-id 10.255.0.1`"
        " under `router ospf`, then `clear ip ospf process` applies it (it resets the ospf"
        " process)"
    )
    (bgp,) = routing.router_id_checks(h, [fact("bgp", live="10.255.0.7", clear=None)])
    assert bgp.detail.endswith(
        "configure `bgp router-id 10.255.0.1` under `router bgp` (it applies at once)"
    )


def test_vrf_instances_and_nothing_intended() -> None:
    h = router("r1", "10.255.0.1/32", red=["10.9.9.9/32"])
    checks = routing.router_id_checks(
        h,
        [fact(live="10.255.0.1"), fact(live="10.9.9.8", vrf="red"), fact(live="1.1.1.1", vrf="b")],
    )
    assert [(c.name, c.ok, c.severity) for c in checks] == [
        ("router-id ospf", True, "error"),
        ("router-id ospf vrf red", False, "error"),
        ("router-id ospf vrf b", True, "info"),
    ]
    assert routing.router_id_checks(h, []) == [
        Check("routing", True, "no routing protocol runs (OSPF, OSPFv3, BGP)", "info")
    ]


def test_mesh_words() -> None:
    t = MeshTarget("r1", IP("10.255.0.1/32"))
    ospf = RouteSeen("ospf", True, ("via 198.19.0.1 dev eth1",))
    probes = [
        Probe(t, None, None),
        Probe(t, ospf, False),
        Probe(t, ospf, True),
        Probe(t, RouteSeen("connected", True, ("dev lo",)), None),
        Probe(t, RouteSeen("ospf", False), None),
        Probe(t, ospf, None, "not pinged: r3 has no IPv4 loopback"),
    ]
    got = [(c.ok, c.severity, c.detail) for c in routing.mesh_checks("r3", probes)]
    head, via = "r3 → r1 10.255.0.1/32: ", "route via ospf (via 198.19.0.1 dev eth1)"
    assert got == [
        (False, "error", head + "no route"),
        (False, "error", head + f"{via}, no echo"),
        (True, "error", head + f"{via}, echo answered"),
        (False, "error", head + "the address is on r3 itself"),
        (False, "error", head + "route via ospf, not in the kernel"),
        (False, "warning", head + f"{via}, not pinged: r3 has no IPv4 loopback"),
    ]
    assert {c.name for c in routing.mesh_checks("r3", probes)} == {"mesh → r1 10.255.0.1/32"}


def test_targets_are_the_other_routers_global_loopbacks() -> None:
    hosts = [router("r1", "10.255.0.1/32", "2001:db8::1/128", red=["10.9.9.9/32"]),
             router("r2", "10.255.0.2/32")]  # fmt: skip
    assert routing.targets(hosts, "r2") == (
        MeshTarget("r1", IP("10.255.0.1/32")),
        MeshTarget("r1", IP("2001:db8::1/128")),
    )
    assert routing.targets(hosts, "r1") == (MeshTarget("r2", IP("10.255.0.2/32")),)


def result(name: str, *ids: tuple[str, str, str], status: str = "ok") -> HostResult:
    r = HostResult(name, "frr", status)  # type: ignore[arg-type]
    r.router_ids = [LiveRouterId(*i) for i in ids]
    return r


def test_collisions_per_protocol_and_vrf_across_the_fleet() -> None:
    results = [
        result("r1", ("ospf", "default", "10.0.0.1"), ("bgp", "default", "10.0.0.1")),
        result("r2", ("ospf", "default", "10.0.0.2"), ("ospf", "red", "10.0.0.1")),
        result("r3", ("ospf", "default", "10.0.0.1"), ("bgp", "default", "10.0.0.3")),
        result("r4", ("ospf6", "default", "10.0.0.1"), status="changed"),
        result("r5"),
    ]
    routing.collision_checks(results)
    r1, r2, r3, r4, r5 = results
    assert [(c.name, c.ok, c.detail) for c in r1.checks] == [
        ("router-id collision", False, "ospf router-id 10.0.0.1 is also used by r3"),
    ]
    assert [c.detail for c in r3.checks] == ["ospf router-id 10.0.0.1 is also used by r1"]
    assert r1.status == "drift" and r3.status == "drift"
    # The same id in another VRF or another protocol is no collision.
    assert [(c.name, c.ok) for c in r2.checks] == [("router-ids in use", True)]
    assert [(c.name, c.ok) for c in r4.checks] == [("router-ids in use", True)]
    assert r2.status == "ok" and r4.status == "changed" and r5.checks == []


def test_plan_time_impact() -> None:
    lo = Loopback("lo", (IP("10.255.0.1/32"), IP("10.255.0.9/32")))
    want = router("r1", "10.255.0.1/32", "10.255.0.20/32")
    plan = Plan((Change("remove_address", "lo", IP("10.255.0.9/32")),
                 Change("add_address", "lo", IP("10.255.0.20/32"))), ())  # fmt: skip
    notes = routing.impact(want, [lo], V4("10.255.0.9"), plan)
    assert notes == [
        "router-id 10.255.0.9 -> 10.255.0.20 (predicted from the loopbacks): running routing"
        " daemons keep the old one until their process is cleared (verify --routing shows"
        " which)",
        "removes 10.255.0.9/32 from lo, which carries router-id 10.255.0.9",
    ]
    # An explicit router-id does not move with the loopbacks, but losing its address shows.
    pinned = router("r1", "10.255.0.1/32", router_id="10.255.0.9")
    notes = routing.impact(pinned, [lo], V4("10.255.0.9"), plan)
    assert notes == ["removes 10.255.0.9/32 from lo, which carries router-id 10.255.0.9"]
    # A deleted loopback carrying it (IOS), and nothing to say.
    l0 = Loopback("Loopback0", (IP("10.255.0.9/32"),))
    gone = Host("r1", "cisco_ios", loopbacks=(Loopback("Loopback0", state="absent"),))
    assert (
        routing.impact(gone, [l0], V4("10.255.0.9"), Plan((Change("delete", "Loopback0"),), ()))[1]
        == "removes Loopback0 (10.255.0.9/32), which carries router-id 10.255.0.9"
    )
    same = router("r1", "10.255.0.9/32")
    assert routing.impact(same, [lo], V4("10.255.0.9"), Plan((), ())) == []

"""Routing truth (verify --routing), judged: what the routers' routing daemons answered
against what the inventory intends. Pure: facts in, Checks out; no I/O.

Three judgements:
- per router and protocol instance: the router-id it uses against the intended one
  (`data.router_id`, else the highest IPv4 address of the loopbacks in that VRF); a
  daemon still using another one is a **stale router-id**, with what would apply the new
  one (loopbackctl never clears a routing process itself);
- across the fleet: live router-ids that two routers use in the same protocol and VRF;
- the **mesh**: from every router that can be asked (a `Meshing` driver), a route to each
  other router's loopback addresses and an echo sourced from its own loopback.

And at plan time, what an apply does to a router's router-id (`impact`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.plan import Plan
from loopbackctl.result import Check, HostResult, LiveRouterId

DEFAULT_VRF = "default"
FROM_LOOPBACKS = "highest loopback IPv4"


@dataclass(frozen=True)
class RouterIdFact:
    """One routing protocol instance's router-id on a device.

    `configured`: the router-id its configuration sets (None: not set, the daemon chose
    one); `setting`: the line that sets it and the block it goes in; `clear`: the command
    that makes a running instance take a new configured one (None: it takes it at once);
    `reselect`: the command that makes an instance without a configured router-id choose
    it again from the loopbacks (None: nothing does, as FRR's ospfd keeps the one it
    started with; IOS: `clear ip ospf process`, `clear ip bgp *`)."""

    protocol: str
    vrf: str
    live: ipaddress.IPv4Address
    configured: ipaddress.IPv4Address | None
    setting: str
    block: str
    clear: str | None
    reselect: str | None = None

    @property
    def seen(self) -> LiveRouterId:
        return LiveRouterId(self.protocol, self.vrf, str(self.live))

    @property
    def label(self) -> str:
        return self.protocol if self.vrf == DEFAULT_VRF else f"{self.protocol} vrf {self.vrf}"


@dataclass(frozen=True)
class MeshTarget:
    """One loopback address of another router in the run."""

    peer: str
    address: IPInterface


@dataclass(frozen=True)
class RouteSeen:
    """The route a router selected for a prefix: protocol, in the kernel, next hops."""

    protocol: str
    installed: bool
    nexthops: tuple[str, ...] = ()


@dataclass(frozen=True)
class Probe:
    """What one router found towards one target: its route (None: none), and the echo
    sourced from its own loopback (True answered, False not, None not sent: `why`)."""

    target: MeshTarget
    route: RouteSeen | None
    echo: bool | None
    why: str | None = None


# Protocols whose route to another router's loopback is not a path to that router: the
# address is on this router itself.
_LOCAL = frozenset({"connected", "local"})


def _loopbacks_in(host: Host, vrf: str) -> list[Loopback]:
    table = None if vrf == DEFAULT_VRF else vrf
    return [lb for lb in host.loopbacks if lb.state == "present" and lb.vrf == table]


def intended_router_id(host: Host, vrf: str) -> tuple[ipaddress.IPv4Address | None, str]:
    """(the router-id intended in `vrf`, where it comes from): `data.router_id` for the
    global table, else the highest IPv4 address of the host's loopbacks in that VRF."""
    if vrf == DEFAULT_VRF and host.router_id is not None:
        return host.router_id, "data.router_id"
    v4 = [a.ip for lb in _loopbacks_in(host, vrf) for a in lb.ipv4]
    return (max(v4), FROM_LOOPBACKS) if v4 else (None, "")


def _advice(fact: RouterIdFact, want: ipaddress.IPv4Address, how: str) -> str:
    line = f"`{fact.setting} {want}`"
    then = f", then `{fact.clear}` applies it (it resets the {fact.protocol} process)"
    if fact.configured == want:
        if fact.clear is None:
            return f"{line} is configured; the daemon has not taken it yet"
        return f"{line} is configured under `{fact.block}`{then}"
    applies = then if fact.clear is not None else " (it applies at once)"
    if fact.configured is not None:
        return (
            f"`{fact.setting} {fact.configured}` is configured under `{fact.block}`: set"
            f" {line}{applies}"
        )
    if fact.reselect is not None and how == FROM_LOOPBACKS:
        pin = f", then `{fact.clear}` applies it" if fact.clear else " and applies it at once"
        return (
            f"{fact.protocol} keeps the router-id it chose when it started: `{fact.reselect}`"
            f" makes it choose again from the loopbacks that are up (it resets the"
            f" {fact.protocol} process); configuring {line} under `{fact.block}` pins it{pin}"
        )
    return (
        f"{fact.protocol} keeps the router-id it started with: configure {line} under"
        f" `{fact.block}`{applies}"
    )


def router_id_checks(host: Host, facts: Sequence[RouterIdFact]) -> list[Check]:
    """One check per protocol instance: its router-id is the intended one, or stale."""
    if not facts:
        return [Check("routing", True, "no routing protocol runs (OSPF, OSPFv3, BGP)", "info")]
    checks: list[Check] = []
    for f in facts:
        want, how = intended_router_id(host, f.vrf)
        name = f"router-id {f.label}"
        if want is None:
            checks.append(Check(name, True, f"{f.live} (no loopback IPv4 intends one)", "info"))
        elif f.live == want:
            checks.append(Check(name, True, f"{f.live}, as intended ({how})"))
        else:
            detail = (
                f"stale router-id: {f.label} uses {f.live}, intended {want} ({how}); "
                + _advice(f, want, how)
            )
            checks.append(Check(name, False, detail))
    return checks


def _route_text(route: RouteSeen) -> str:
    hops = f" ({', '.join(route.nexthops)})" if route.nexthops else ""
    return f"route via {route.protocol}{hops}"


def mesh_checks(source: str, probes: Sequence[Probe]) -> list[Check]:
    """One check per target: `r3 → r1 10.255.0.1/32: no route` / `route via ospf, no
    echo` / `route via ospf (via ... dev eth1), echo answered`."""
    checks: list[Check] = []
    for p in probes:
        t = p.target
        name = f"mesh → {t.peer} {t.address}"
        head = f"{source} → {t.peer} {t.address}: "
        r = p.route
        if r is None:
            checks.append(Check(name, False, head + "no route"))
        elif r.protocol in _LOCAL:
            checks.append(Check(name, False, head + f"the address is on {source} itself"))
        elif not r.installed:
            checks.append(Check(name, False, head + f"{_route_text(r)}, not in the kernel"))
        elif p.echo is None:
            checks.append(Check(name, False, head + f"{_route_text(r)}, {p.why}", "warning"))
        elif p.echo:
            checks.append(Check(name, True, head + f"{_route_text(r)}, echo answered"))
        else:
            why = f" ({p.why})" if p.why else ""
            checks.append(Check(name, False, head + f"{_route_text(r)}, no echo{why}"))
    return checks


def targets(hosts: Sequence[Host], source: str) -> tuple[MeshTarget, ...]:
    """Every present loopback address of the routers in `hosts` other than `source`,
    in the global table (the mesh is the fabric's routing)."""
    return tuple(
        MeshTarget(h.name, a)
        for h in hosts
        if h.name != source
        for lb in _loopbacks_in(h, DEFAULT_VRF)
        for a in lb.addresses
    )


def collision_checks(results: Sequence[HostResult]) -> None:
    """Fleet-level: a live router-id two routers use in one protocol and VRF fails a
    check on each of them (an ok/changed host becomes drift); each router that reported
    live router-ids and shares none gets one passing check."""
    users: dict[tuple[str, str, str], list[str]] = {}
    for r in results:
        for seen in dict.fromkeys(r.router_ids):
            users.setdefault((seen.protocol, seen.vrf, seen.router_id), []).append(r.name)
    for r in results:
        if not r.router_ids:
            continue
        clashes = []
        for seen in dict.fromkeys(r.router_ids):
            others = [n for n in users[(seen.protocol, seen.vrf, seen.router_id)] if n != r.name]
            if others:
                where = "" if seen.vrf == DEFAULT_VRF else f" in VRF {seen.vrf}"
                clashes.append(
                    f"{seen.protocol} router-id {seen.router_id}{where} is also used by "
                    + ", ".join(dict.fromkeys(others))
                )
        if not clashes:
            ids = ", ".join(sorted({s.router_id for s in r.router_ids}))
            r.checks.append(Check("router-ids in use", True, f"{ids}: no other router uses it"))
            continue
        for detail in clashes:
            r.checks.append(Check("router-id collision", False, detail))
        if r.status in ("ok", "changed"):
            r.status = "drift"


def impact(
    host: Host, held: Sequence[Loopback], now: ipaddress.IPv4Address | None, plan: Plan
) -> list[str]:
    """What applying `plan` does to the router-id of a router that holds the loopbacks
    `held`, whose router-id they give is `now`: a new predicted one, or the removal of the
    address (or the loopback) that carries it. Empty when neither."""
    current = host.router_id if host.router_id is not None else now
    after = host.predicted_router_id
    out: list[str] = []
    if current is not None and after != current:
        new = str(after) if after is not None else "none (no loopback IPv4 in the global table)"
        out.append(
            f"router-id {current} -> {new} (predicted from the loopbacks): running routing"
            " daemons keep the old one until their process is cleared (verify --routing"
            " shows which)"
        )
    carriers = {lb.name: a for lb in held for a in lb.ipv4 if a.ip == current}
    for c in plan.changes:
        addr = c.address
        if c.kind == "remove_address" and addr is not None and addr.ip == current:
            out.append(f"removes {addr} from {c.interface}, which carries router-id {current}")
        elif c.kind == "delete" and c.interface in carriers:
            out.append(
                f"removes {c.interface} ({carriers[c.interface]}), which carries router-id"
                f" {current}"
            )
    return out

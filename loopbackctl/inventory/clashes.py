"""Fleet-wide rules, over every host at once: an address on two devices, overlapping
subnets on one device, two routers with one router-id. Each is linear (or n log n) in
the fleet: 10,000 hosts are checked in a fraction of a second."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from loopbackctl import platforms
from loopbackctl.inventory.diagnostics import Diagnostics
from loopbackctl.inventory.loopbacks import PlacedAddress
from loopbackctl.inventory.resolve import LazyMark
from loopbackctl.model import Host

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_same_address(placed: list[PlacedAddress], diags: Diagnostics) -> set[Address]:
    """An address on two devices (unless every copy is anycast).

    Returns the addresses reported, so that a router-id clash they cause is not reported
    a second time.
    """
    by_ip: dict[tuple[str | None, int, int], list[PlacedAddress]] = {}
    reported: set[Address] = set()
    for p in placed:
        by_ip.setdefault(p.key, []).append(p)
    for ps in by_ip.values():
        if len(ps) < 2 or len({p.host for p in ps}) < 2 or all(p.anycast for p in ps):
            continue
        first = ps[0]
        for other in ps[1:]:
            if other.host != first.host:
                reported.add(first.address.ip)
                _report_same_address(first, other, diags)
    return reported


def _report_same_address(first: PlacedAddress, other: PlacedAddress, diags: Diagnostics) -> None:
    ip = f"{first.address.ip} (VRF {first.vrf})" if first.vrf else str(first.address.ip)
    if other.mark == first.mark:
        msg = (
            f"address {ip} reaches both {first.host} and {other.host} from this one line (a"
            " group or the defaults gives it to every member); an address must be on one"
            " device only: move it to the hosts, or mark the loopback anycast: true if that"
            " is intended"
        )
    else:
        msg = (
            f"address {ip} is also on host {first.host} ({first.mark}, {first.loopback}); an"
            " address must be on one device only: change one, or mark both loopbacks"
            " anycast: true if that is intended"
        )
    diags.error(other.mark, msg, other.host, "data.loopbacks")


def check_overlaps(host: str, ps: list[PlacedAddress], diags: Diagnostics) -> None:
    """Overlapping subnets (or one address on two loopbacks) on one device.

    CIDR blocks either nest or are disjoint, so after sorting by (start, -size) a block
    overlaps an earlier one exactly when it starts inside the widest block still open.
    """
    if all(p.address.network.prefixlen == p.address.max_prefixlen for p in ps) and len(
        {p.key for p in ps}
    ) == len(ps):
        return  # host prefixes only, all different: nothing can overlap
    for version in (4, 6):
        items = sorted(
            (p for p in ps if p.address.version == version),
            key=lambda p: (int(p.address.network.network_address), p.address.network.prefixlen),
        )
        widest: PlacedAddress | None = None  # the widest block still open
        for p in items:
            net = p.address.network
            end = int(widest.address.network.broadcast_address) if widest is not None else -1
            if widest is not None and int(net.network_address) <= end:
                _report_overlap(host, widest, p, diags)
            elif widest is None or int(net.broadcast_address) > end:
                widest = p


def _report_overlap(host: str, a: PlacedAddress, b: PlacedAddress, diags: Diagnostics) -> None:
    first, second = (a, b) if a.mark <= b.mark else (b, a)
    if first.address.ip == second.address.ip:
        what = f"{second.address.ip} is also on {first.loopback} of this host"
        fix = "keep it on one loopback"
    else:
        what = f"{second.address} on {second.loopback} overlaps {first.address} on {first.loopback}"
        fix = (
            "overlapping subnets on one device make routing ambiguous (routers refuse"
            " them): change one of them"
        )
    diags.error(second.mark, f"{what} ({first.mark}); {fix}", host, "data.loopbacks")


def check_router_ids(
    hosts: Mapping[str, Host],
    marks: Mapping[str, LazyMark],
    known: set[Address],
    diags: Diagnostics,
) -> None:
    """Two routers with one router-id (explicit, else predicted). `marks` says where each
    host's router-id comes from; clashes of `known` (reported) addresses are skipped."""
    owner: dict[ipaddress.IPv4Address, str] = {}
    for name, h in hosts.items():
        p = platforms.lookup(h.platform)
        if not ((p is not None and p.router) or h.router_id is not None):
            continue
        rid = h.predicted_router_id
        if rid is None:
            continue
        if rid in owner and not (h.router_id is None and rid in known):
            first = owner[rid]
            how = "set" if h.router_id is not None else "predicted: highest loopback IPv4"
            diags.error(
                marks[name].mark,
                f"router-id {rid} ({how}) is also the router-id of {first}"
                f" ({marks[first].mark}); OSPF and BGP need unique router-ids: set"
                " data.router_id or change a loopback",
                name,
                "data.router_id",
            )
        else:
            owner.setdefault(rid, name)

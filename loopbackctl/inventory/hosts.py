"""Each host resolved into the model's `Host`, with the addresses it places and where
its router-id comes from, for the fleet-wide rules."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from loopbackctl import platforms
from loopbackctl.inventory.diagnostics import Diagnostics
from loopbackctl.inventory.groups import group_names, lists_unknown_group
from loopbackctl.inventory.loopbacks import PlacedAddress, build_loopbacks
from loopbackctl.inventory.resolve import Inherited, LazyMark, Resolved, Resolver
from loopbackctl.inventory.schema import is_a
from loopbackctl.inventory.sources import Entity, Sources
from loopbackctl.model import Host, Loopback
from loopbackctl.platforms.base import Platform


@dataclass
class BuiltHosts:
    """The hosts built, and what the fleet-wide rules need to know about them."""

    hosts: dict[str, Host] = field(default_factory=dict)
    # Each group's hosts, through nested groups too.
    members: dict[str, set[str]] = field(default_factory=dict)
    placed: list[PlacedAddress] = field(default_factory=list)
    # Where each host's router-id comes from: data.router_id, else its highest IPv4.
    router_id_marks: dict[str, LazyMark] = field(default_factory=dict)


def build_hosts(src: Sources, diags: Diagnostics) -> BuiltHosts:
    """Every host that has a known platform, resolved; the others are reported (or were
    already, where their platform is written) and left out."""
    built = BuiltHosts(members={g: set() for g in src.groups})
    resolver = Resolver(src.groups, src.defaults)
    incomplete = bool(src.broken & {"groups", "defaults"})
    for name, ent in src.hosts.items():
        above = resolver.groups_above(ent)
        for g in above:
            built.members[g.name].add(name)
        unresolved = incomplete or lists_unknown_group(ent, src.groups)
        host = _build_host(ent, resolver, resolver.inherited(above), unresolved, diags, built)
        if host is not None:
            built.hosts[name] = host
    return built


def _build_host(
    ent: Entity,
    resolver: Resolver,
    inherited: Inherited,
    unresolved: bool,
    diags: Diagnostics,
    built: BuiltHosts,
) -> Host | None:
    """`ent` as a Host; None when it has no known platform. `unresolved`: a group it lists
    is unknown, or groups or defaults could not be read, so its platform may be written
    where it cannot be seen (a missing platform is then not reported)."""
    platform = inherited.field(ent, "platform")
    rules = _platform(ent, platform, unresolved, diags)
    if rules is None:
        return None
    data = inherited.data_of(ent)
    loopbacks, mine = _loopbacks(ent.name, rules, data, diags)
    built.placed.extend(mine)
    rid_found = data.get("router_id")
    router_id = _router_id(rid_found)
    if rid_found is not None and router_id is not None:
        built.router_id_marks[ent.name] = rid_found.lazy_mark()
    else:
        built.router_id_marks[ent.name] = _highest_ipv4_mark(ent, mine)
    port = inherited.field(ent, "port")
    purge = data.get("purge")
    return Host(
        name=ent.name,
        platform=platform,
        hostname=inherited.field(ent, "hostname"),
        port=port if is_a(port, int) else None,
        username=inherited.field(ent, "username"),
        password=inherited.field(ent, "password"),
        groups=group_names(ent),
        data={k: f.value for k, f in data.items()},
        connection_options=resolver.connection_options(ent, frozenset()),
        loopbacks=tuple(loopbacks),
        router_id=router_id,
        purge=purge is not None and purge.value is True,
    )


def _platform(
    ent: Entity, platform: object, unresolved: bool, diags: Diagnostics
) -> Platform | None:
    """The host's platform; a missing one is reported here (an unknown one where it is
    written, by the schema)."""
    if platform is None:
        if not unresolved:
            diags.error(
                ent.mark(key=True),
                f"host {ent.name!r} has no platform; set platform: to one of"
                f" {', '.join(platforms.names())} (on the host, a group or defaults)",
                ent.name,
                "platform",
            )
        return None
    return platforms.lookup(platform) if isinstance(platform, str) else None


def _loopbacks(
    host: str, rules: Platform, data: dict[str, Resolved], diags: Diagnostics
) -> tuple[list[Loopback], list[PlacedAddress]]:
    found = data.get("loopbacks")
    if found is None or not isinstance(found.value, list):
        return [], []
    allow = data.get("allow_subnet_loopbacks")
    allow_subnets = allow is not None and allow.value is True
    return build_loopbacks(host, rules, found, allow_subnets, diags)


def _router_id(found: Resolved | None) -> ipaddress.IPv4Address | None:
    if found is None or not isinstance(found.value, str):
        return None
    try:
        return ipaddress.IPv4Address(found.value)
    except ValueError:
        return None  # reported by the schema


def _highest_ipv4_mark(ent: Entity, placed: list[PlacedAddress]) -> LazyMark:
    """Where the highest IPv4 address `ent` places is written (the host itself if none)."""
    v4 = [p for p in placed if p.address.version == 4]
    top = max(v4, key=lambda p: p.address.ip) if v4 else None
    return top.lazy_mark if top else LazyMark(ent, ())

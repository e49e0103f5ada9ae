"""Each host resolved into the model: a `Host` when a platform loopbackctl drives is
resolved for it, else an `Unmanaged` that says why; with the addresses managed hosts
place and where their router-ids come from, for the fleet-wide rules.

The platform that drives a host is resolved once, here: `connection_options.netmiko.
platform` when it is set (as nornir_netmiko connects), else the host's `platform`, looked
up by name or alias in the registry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loopbackctl import platforms
from loopbackctl.inventory.diagnostics import Diagnostics, keyname
from loopbackctl.inventory.groups import group_names, lists_unknown_group
from loopbackctl.inventory.loopbacks import PlacedAddress, build_loopbacks
from loopbackctl.inventory.resolve import Inherited, LazyMark, Resolved, Resolver
from loopbackctl.inventory.schema import NAMESPACE, digit_port, is_a
from loopbackctl.inventory.settings import host_settings
from loopbackctl.inventory.sources import Entity, Sources
from loopbackctl.model import Host, Loopback, Unmanaged
from loopbackctl.platforms.base import Platform

NO_PLATFORM = "no platform"


@dataclass
class BuiltHosts:
    """The hosts built, and what the fleet-wide rules need to know about them."""

    hosts: dict[str, Host] = field(default_factory=dict)
    unmanaged: dict[str, Unmanaged] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    # Each group's hosts, through nested groups too.
    members: dict[str, set[str]] = field(default_factory=dict)
    placed: list[PlacedAddress] = field(default_factory=list)
    # Where each host's router-id comes from: data.router_id, else its highest IPv4.
    router_id_marks: dict[str, LazyMark] = field(default_factory=dict)
    # Entities (by id) some host reads, and those a managed host reads settings directly
    # under data from (settings.py checks those).
    read: set[int] = field(default_factory=set)
    read_direct: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Driving:
    """The platform a host's SSH connection would use, as written, and where it is set."""

    name: Any
    override: bool

    def phrase(self) -> str:
        """Why a host with this platform is not managed."""
        if not isinstance(self.name, str):
            return NO_PLATFORM
        where = "connection_options.netmiko.platform" if self.override else "platform"
        return f"{where} {self.name!r} is not one loopbackctl drives"


def build_hosts(src: Sources, diags: Diagnostics) -> BuiltHosts:
    """Every host resolved: managed ones into `hosts`, the others into `unmanaged`."""
    built = BuiltHosts(members={g: set() for g in src.groups})
    resolver = Resolver(src.groups, src.defaults)
    defaults = [src.defaults] if src.defaults is not None else []
    incomplete = bool(src.broken & {"groups", "defaults"})
    for name, ent in src.hosts.items():
        above = resolver.groups_above(ent)
        for g in above:
            built.members[g.name].add(name)
        built.order.append(name)
        chain = {id(e) for e in (ent, *above, *defaults)}
        built.read |= chain
        # A group it lists is unknown, or groups or defaults could not be read: its
        # platform may be written where it cannot be seen (no follow-on error then).
        unresolved = incomplete or lists_unknown_group(ent, src.groups)
        namespaced = _build_host(ent, resolver, resolver.inherited(above), unresolved, diags, built)
        if namespaced is False:
            built.read_direct |= chain
    return built


def driving_platform(inherited: Inherited, ent: Entity, connection: Mapping[str, Any]) -> Driving:
    """netmiko's `platform` override when set, else the host's resolved platform."""
    override = (connection.get("netmiko") or {}).get("platform")
    if override is not None:
        return Driving(override, True)
    return Driving(inherited.field(ent, "platform"), False)


def _build_host(
    ent: Entity,
    resolver: Resolver,
    inherited: Inherited,
    unresolved: bool,
    diags: Diagnostics,
    built: BuiltHosts,
) -> bool | None:
    """`ent` into `built`: a managed Host, or an Unmanaged when no platform loopbackctl
    drives is resolved for it (then None). For a managed host: whether it reads its
    settings from data.loopbackctl."""
    connection = resolver.connection_options(ent, frozenset())
    driving = driving_platform(inherited, ent, connection)
    rules = platforms.lookup(driving.name) if isinstance(driving.name, str) else None
    data = inherited.data_of(ent)
    settings, namespaced = host_settings(data)
    if rules is None:
        declared = None if unresolved else settings.get("loopbacks")
        _unmanaged(ent, driving, declared, namespaced, diags, built)
        return None
    loopbacks, mine = _loopbacks(ent.name, rules, settings, diags)
    built.placed.extend(mine)
    rid_found = settings.get("router_id")
    router_id = _router_id(rid_found)
    if rid_found is not None and router_id is not None:
        built.router_id_marks[ent.name] = rid_found.lazy_mark()
    else:
        built.router_id_marks[ent.name] = _highest_ipv4_mark(ent, mine)
    port = inherited.field(ent, "port")
    purge = settings.get("purge")
    declared = settings.get("loopbacks")
    host = Host(
        name=ent.name,
        platform=rules.name,
        hostname=inherited.field(ent, "hostname"),
        port=port if is_a(port, int) else digit_port(port),
        username=inherited.field(ent, "username"),
        password=inherited.field(ent, "password"),
        groups=group_names(ent),
        data={k: f.value for k, f in data.items()},
        connection_options=connection,
        loopbacks=tuple(loopbacks),
        router_id=router_id,
        purge=purge is not None and purge.value is True,
        settings={k: f.value for k, f in settings.items()},
        declares_loopbacks=declared is not None and declared.value is not None,
    )
    built.hosts[ent.name] = host
    return namespaced


def _unmanaged(
    ent: Entity,
    driving: Driving,
    loopbacks: Resolved | None,
    namespaced: bool,
    diags: Diagnostics,
    built: BuiltHosts,
) -> None:
    """Record a host loopbackctl leaves alone; an error when it declares loopbacks."""
    name = driving.name if isinstance(driving.name, str) else None
    built.unmanaged[ent.name] = Unmanaged(ent.name, name, driving.phrase(), group_names(ent))
    if loopbacks is None or loopbacks.value is None:
        return
    supported = platforms.supported()
    if name is None:
        why = f"it has no platform: set platform: to one of {supported}"
    else:
        where = "connection_options.netmiko.platform" if driving.override else "platform"
        why = (
            f"loopbackctl does not drive its {where} {name!r} (it drives {supported}):"
            " give it one of those"
        )
    clash = (
        ""
        if namespaced
        else f"; if data.loopbacks belongs to another tool, put loopbackctl's settings under"
        f" data.{NAMESPACE}:"
    )
    diags.error(
        loopbacks.mark(),
        f"host {ent.name!r} declares loopbacks, but {why}, or remove the loopbacks from it{clash}",
        ent.name,
        keyname(loopbacks.path),
    )


def _loopbacks(
    host: str, rules: Platform, settings: dict[str, Resolved], diags: Diagnostics
) -> tuple[list[Loopback], list[PlacedAddress]]:
    found = settings.get("loopbacks")
    if found is None or not isinstance(found.value, list):
        return [], []
    allow = settings.get("allow_subnet_loopbacks")
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
    v4 = [p for p in placed if p.address.version == 4 and p.vrf is None]
    top = max(v4, key=lambda p: p.address.ip) if v4 else None
    return top.lazy_mark if top else LazyMark(ent, ())

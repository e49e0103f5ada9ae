"""The model: frozen, typed values that every later stage reads and none mutates."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def sort_key(addr: IPInterface) -> tuple[int, int, int]:
    """Stable order for addresses: IPv4 first, then by address and prefix."""
    return (addr.version, int(addr.ip), addr.network.prefixlen)


@dataclass(frozen=True)
class Loopback:
    """A loopback interface as intended (from the inventory) or as observed on a device.

    `addresses` keeps the inventory's order: on IOS the first IPv4 address is the primary.
    `absent_addresses` are addresses loopbackctl must remove if present. `vrf` names the
    VRF the loopback forwards in (None: the global table; always None on Linux).
    """

    name: str
    addresses: tuple[IPInterface, ...] = ()
    description: str | None = None
    shutdown: bool = False
    state: Literal["present", "absent"] = "present"
    absent_addresses: tuple[IPInterface, ...] = ()
    anycast: bool = False
    vrf: str | None = None

    @property
    def ipv4(self) -> tuple[ipaddress.IPv4Interface, ...]:
        return tuple(a for a in self.addresses if isinstance(a, ipaddress.IPv4Interface))

    @property
    def ipv6(self) -> tuple[ipaddress.IPv6Interface, ...]:
        return tuple(a for a in self.addresses if isinstance(a, ipaddress.IPv6Interface))


@dataclass(frozen=True)
class Host:
    """A managed device with its resolved (host → groups → defaults) connection fields
    and data.

    `platform` is the registered platform that drives it (its canonical name), resolved
    from `connection_options.netmiko.platform`, else the host's `platform`, as
    nornir_netmiko does. `data` is Nornir's resolved data, every key; `settings` holds
    loopbackctl's own keys (from data.loopbackctl, or directly under data).
    `declares_loopbacks`: the resolved settings set `loopbacks` (an empty list too);
    purge acts only on such a host.
    """

    name: str
    platform: str
    hostname: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    groups: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    connection_options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    loopbacks: tuple[Loopback, ...] = ()
    router_id: ipaddress.IPv4Address | None = None
    purge: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    declares_loopbacks: bool = False

    @property
    def predicted_router_id(self) -> ipaddress.IPv4Address | None:
        """The router-id OSPF/BGP would pick: explicit, else the highest IPv4 of the
        loopbacks in the global table (a VRF's loopbacks serve that VRF's processes)."""
        if self.router_id is not None:
            return self.router_id
        v4 = [
            a.ip
            for lb in self.loopbacks
            if lb.state == "present" and lb.vrf is None
            for a in lb.ipv4
        ]
        return max(v4) if v4 else None


@dataclass(frozen=True)
class Unmanaged:
    """A host of the inventory that loopbackctl leaves alone, and why.

    `platform` is the one that would drive it (netmiko's override, else the host's), as
    written; None when it has none. `reason` is one phrase ("no platform", "platform
    'junos' is not one loopbackctl drives")."""

    name: str
    platform: str | None
    reason: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inventory:
    """The managed hosts by name, the hosts loopbackctl leaves alone, every host's name in
    inventory order, and each group's members (managed or not, through nested groups)."""

    hosts: Mapping[str, Host]
    group_members: Mapping[str, frozenset[str]]
    sources: tuple[str, ...] = ()
    unmanaged: Mapping[str, Unmanaged] = field(default_factory=dict)
    order: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every host, managed or not, in inventory order."""
        return self.order or tuple(self.hosts)

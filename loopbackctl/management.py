"""The management path: the address apply's session goes through, whether a plan cuts
it, and where to reconnect after a change that does (`data.management_address`, else the
inventory's `hostname`).

A plan cuts the path when it removes the session's address (or changes its prefix
length), replaces the IPv4 primary while the session's address is that primary, or
deletes, shuts down or moves into another VRF the loopback holding it. Adding other
addresses to that loopback does not.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Change, Plan
from loopbackctl.transport import credentials

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
FLAG = "--allow-management-change"
SETTING = "management_address"


@dataclass(frozen=True)
class Cut:
    """A plan's change that takes away the session's address."""

    address: IPAddress
    loopback: str
    change: Change

    def __str__(self) -> str:
        return f"{self.change}"


def session_address(host: Host) -> IPAddress | None:
    """The address the SSH session to `host` connects to: its resolved hostname (an
    address as written, else the first one the resolver gives, as the SSH client takes);
    None when it does not resolve."""
    creds = credentials.resolve(host)
    name = creds.hostname.strip("[]")
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, creds.port, type=socket.SOCK_STREAM)
    except OSError:
        return None
    for info in infos:
        try:
            return ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        except ValueError:
            continue
    return None


def cut(address: IPAddress, before: Sequence[Loopback], plan: Plan) -> Cut | None:
    """The first change of `plan` that takes `address` away, if it is on a loopback."""
    holder = next((lb for lb in before if any(a.ip == address for a in lb.addresses)), None)
    if holder is None:
        return None
    mine = next(a for a in holder.addresses if a.ip == address)
    primary = holder.ipv4[0] if holder.ipv4 else None
    for c in plan.changes:
        if c.interface != holder.name:
            continue
        if c.kind in ("delete", "disable", "vrf"):
            return Cut(address, holder.name, c)
        if c.kind == "remove_address" and c.address is not None and c.address.ip == address:
            return Cut(address, holder.name, c)
        if c.kind == "set_primary" and mine == primary and c.address != mine:
            return Cut(address, holder.name, c)
    return None


def reconnect_to(host: Host) -> str:
    """Where apply reconnects after a change that cuts the session's path."""
    new = host.settings.get(SETTING)
    return str(new) if new else credentials.resolve(host).hostname


def via(host: Host, address: str) -> Host:
    """`host` reached at `address` (the inventory's other connection fields kept)."""
    options = dict(host.connection_options)
    netmiko = dict(options.get("netmiko") or {})
    netmiko.pop("hostname", None)
    options["netmiko"] = netmiko
    return dataclasses.replace(host, hostname=address, connection_options=options)


def stranded(host: Host, c: Cut, plan: Plan) -> str | None:
    """Why a reconnect cannot work (None when it may): no data.management_address, and
    the plan leaves the device without the address the hostname gives."""
    if host.settings.get(SETTING):
        return None
    readded = c.change.kind in ("remove_address", "set_primary") and any(
        x.kind in ("add_address", "set_primary")
        and x.address is not None
        and x.address.ip == c.address
        for x in plan.changes
    )
    if readded:
        return None
    return (
        f"refused before sending anything: the plan takes away {c.address} ({c}), the"
        f" address this session connects through, and no data.{SETTING} says where to"
        f" reconnect after the change; set it to the address the device is reached at then"
    )


def explain(c: Cut) -> str:
    return (
        f"this session connects through {c.address}, which is on {c.loopback}, and the plan"
        f" would cut it ({c}); to make that change under confirm-or-revert and reconnect"
        f" through data.{SETTING} (else the hostname), apply with {FLAG}"
    )


def refused(c: Cut) -> str:
    return f"refused before sending anything: {explain(c)}"


def unconfirmed(c: Cut) -> str:
    return (
        f"refused before sending anything: the plan cuts this session's path ({c.address} on"
        f" {c.loopback}: {c}), and {FLAG} needs confirm-or-revert, which this run does not"
        " have (--no-confirm, or a platform without it)"
    )

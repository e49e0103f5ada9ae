"""What the kernel says about `lo`, as values: parsed from `ip -j` output and sysctls. Pure."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

LOOPBACK4: IPInterface = ipaddress.IPv4Interface("127.0.0.1/8")
LOOPBACK6: IPInterface = ipaddress.IPv6Interface("::1/128")
LO_MTU = 65536
DISABLE_IPV6_SYSCTL = "net.ipv6.conf.lo.disable_ipv6"


class ParseError(ValueError):
    """`ip` printed something that is not the JSON it documents; never read as "ok"."""


@dataclass(frozen=True)
class LoState:
    """`lo` as `ip -j addr show dev lo` reports it. Addresses compare as (address, prefix)."""

    ifindex: int
    flags: frozenset[str]
    mtu: int | None
    link_type: str | None
    operstate: str | None
    addresses: frozenset[IPInterface]

    @property
    def up(self) -> bool:
        # lo's operstate reads UNKNOWN even when it works: the flags are what count.
        return "UP" in self.flags

    @property
    def lower_up(self) -> bool:
        return "LOWER_UP" in self.flags


@dataclass(frozen=True)
class Ipv6Status:
    """Whether lo can carry IPv6; `reason` names the sysctl or kernel fact when it cannot."""

    enabled: bool
    reason: str


def parse_ip_addr(text: str) -> LoState | None:
    """Parse `ip -j addr show dev lo` (or `ip -j link show lo`); None when lo is absent.

    Raises ParseError when the text is not iproute2's JSON shape: lo twice, an address
    entry it cannot read exactly (another family, a peer, a prefix length that is not a
    number). Keys it does not read, and other interfaces, are ignored.
    """
    try:
        doc: Any = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as exc:
        raise ParseError(f"ip printed invalid JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(doc, list):
        raise ParseError("ip printed JSON that is not a list of interfaces")
    links = [d for d in doc if isinstance(d, dict) and d.get("ifname") == "lo"]
    if not links:
        if any(not isinstance(d, dict) or "ifname" not in d for d in doc):
            raise ParseError("ip printed interfaces without an ifname")
        return None
    if len(links) > 1:
        raise ParseError("ip printed lo more than once")
    link = links[0]
    flags = link.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise ParseError("ip printed flags that are not a list of names")
    mtu = link.get("mtu")
    ifindex = link.get("ifindex")
    if not isinstance(ifindex, int) or (mtu is not None and not isinstance(mtu, int)):
        raise ParseError("ip printed an ifindex or mtu that is not a number")
    addresses: set[IPInterface] = set()
    for info in link.get("addr_info", []):
        addresses.add(_address(info))
    link_type = link.get("link_type")
    operstate = link.get("operstate")
    return LoState(
        ifindex=ifindex,
        flags=frozenset(flags),
        mtu=mtu,
        link_type=link_type if isinstance(link_type, str) else None,
        operstate=operstate if isinstance(operstate, str) else None,
        addresses=frozenset(addresses),
    )


def _address(info: Any) -> IPInterface:
    if not isinstance(info, dict):
        raise ParseError("ip printed an addr_info entry that is not an object")
    family, local, prefix = info.get("family"), info.get("local"), info.get("prefixlen")
    if family not in ("inet", "inet6") or not isinstance(local, str) or type(prefix) is not int:
        raise ParseError(f"ip printed an address without family/local/prefixlen: {info!r}")
    if "address" in info:  # `ip address add A peer P`: not A/prefixlen
        raise ParseError(f"ip printed {local} with a peer address; loopbackctl does not read those")
    try:
        if family == "inet":
            return ipaddress.IPv4Interface(f"{local}/{prefix}")
        return ipaddress.IPv6Interface(f"{local}/{prefix}")
    except ValueError:
        raise ParseError(f"ip printed an address that is not valid: {local}/{prefix}") from None


def ipv6_status(disable_ipv6: str | None, ipv6_present: bool) -> Ipv6Status:
    """From /proc/sys/net/ipv6/conf/lo/disable_ipv6 (None: unreadable) and whether
    /proc/sys/net/ipv6 exists at all."""
    if not ipv6_present:
        return Ipv6Status(
            False,
            "the kernel runs without IPv6 (/proc/sys/net/ipv6 is missing;"
            " ipv6.disable=1 on the kernel command line?)",
        )
    if disable_ipv6 is None:
        return Ipv6Status(False, f"{DISABLE_IPV6_SYSCTL} cannot be read")
    value = disable_ipv6.strip()
    if value != "0":
        return Ipv6Status(False, f"{DISABLE_IPV6_SYSCTL} = {value}")
    return Ipv6Status(True, f"{DISABLE_IPV6_SYSCTL} = 0")


def address_sort_key(addr: IPInterface) -> tuple[int, int, int]:
    """IPv4 first, then by address and prefix: the order reports list addresses in."""
    return (addr.version, int(addr.ip), addr.network.prefixlen)


def show(addresses: frozenset[IPInterface] | set[IPInterface] | list[IPInterface]) -> str:
    return ", ".join(str(a) for a in sorted(addresses, key=address_sort_key))

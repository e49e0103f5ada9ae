"""`ip -j addr show dev lo` → LoState, and lo's IPv6 sysctl → Ipv6Status. Pure: text
in, data out.

iproute2 quirks: lo's operstate reads UNKNOWN even when it works (the UP flag is what
counts); address order is not stable, so addresses are compared as sets.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from loopbackctl.errors import ParseError
from loopbackctl.model import IPInterface, Loopback

LO = "lo"
LO_MTU = 65536
DISABLE_IPV6 = "/proc/sys/net/ipv6/conf/lo/disable_ipv6"
IPV6_SYSCTLS = "/proc/sys/net/ipv6"
DISABLE_IPV6_SYSCTL = "net.ipv6.conf.lo.disable_ipv6"
# Whether lo can hold IPv6, in one answer that is never empty: the sysctl's value, or
# "none" on a kernel without IPv6.
READ_IPV6 = f"if [ -d {IPV6_SYSCTLS} ]; then cat {DISABLE_IPV6}; else echo none; fi"


@dataclass(frozen=True)
class LoState:
    """`lo` as iproute2 reports it; `addresses` in the order `ip` printed them."""

    ifindex: int
    flags: frozenset[str]
    mtu: int | None
    link_type: str | None
    operstate: str | None
    addresses: tuple[IPInterface, ...]

    @property
    def up(self) -> bool:
        return "UP" in self.flags

    @property
    def lower_up(self) -> bool:
        return "LOWER_UP" in self.flags

    def loopback(self) -> Loopback:
        return Loopback(name=LO, addresses=self.addresses, shutdown=not self.up)


def parse_ip_addr(text: str) -> LoState | None:
    """lo from `ip -j addr show dev lo` (or `ip -j link show dev lo`); None when the
    answer lists no interface. ParseError when the text is not iproute2's JSON for lo, or
    has an address entry it cannot read exactly (another family, a peer, a prefix length
    that is not a number); keys it does not read are ignored."""
    try:
        doc: Any = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as exc:
        raise ParseError(f"ip printed invalid JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(doc, list) or not all(isinstance(d, dict) for d in doc):
        raise ParseError("ip printed JSON that is not a list of interfaces")
    if not doc:
        return None
    if len(doc) != 1 or doc[0].get("ifname") != LO:
        raise ParseError("ip printed interfaces other than lo")
    link = doc[0]
    flags = link.get("flags")
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise ParseError("ip printed flags that are not a list of names")
    mtu, ifindex = link.get("mtu"), link.get("ifindex")
    if not isinstance(ifindex, int) or (mtu is not None and not isinstance(mtu, int)):
        raise ParseError("ip printed an ifindex or mtu that is not a number")
    infos = link.get("addr_info", [])
    if not isinstance(infos, list):
        raise ParseError("ip printed an addr_info that is not a list")
    link_type, operstate = link.get("link_type"), link.get("operstate")
    return LoState(
        ifindex=ifindex,
        flags=frozenset(flags),
        mtu=mtu,
        link_type=link_type if isinstance(link_type, str) else None,
        operstate=operstate if isinstance(operstate, str) else None,
        addresses=tuple(_address(info) for info in infos),
    )


def _address(info: Any) -> IPInterface:
    if not isinstance(info, dict):
        raise ParseError("ip printed an addr_info entry that is not an object")
    family, local, prefix = info.get("family"), info.get("local"), info.get("prefixlen")
    if family not in ("inet", "inet6") or not isinstance(local, str) or type(prefix) is not int:
        raise ParseError(f"ip printed an address without family/local/prefixlen: {info!r:.80}")
    if "address" in info:  # `ip address add A peer P`: a point-to-point address, not A/len
        raise ParseError(f"ip printed {local} with a peer address; loopbackctl does not read those")
    try:
        if family == "inet":
            return ipaddress.IPv4Interface(f"{local}/{prefix}")
        return ipaddress.IPv6Interface(f"{local}/{prefix}")
    except ValueError:
        raise ParseError(f"ip printed an address that is not valid: {local}/{prefix}") from None


@dataclass(frozen=True)
class Ipv6Status:
    """Whether lo can carry IPv6; `reason` names the sysctl or kernel fact either way."""

    enabled: bool
    reason: str


def ipv6_status(answer: str) -> Ipv6Status:
    """From the answer of READ_IPV6: lo's disable_ipv6 value, or "none" when the kernel
    runs without IPv6 (/proc/sys/net/ipv6 is missing). ParseError for anything else."""
    value = answer.strip()
    if value == "none":
        return Ipv6Status(
            False,
            "the kernel runs without IPv6 (/proc/sys/net/ipv6 is missing;"
            " ipv6.disable=1 on the kernel command line?)",
        )
    if not value.isdigit():
        raise ParseError(f"{DISABLE_IPV6_SYSCTL} read as {value[:40]!r}, not a number")
    if int(value) != 0:
        return Ipv6Status(False, f"{DISABLE_IPV6_SYSCTL} = {value}")
    return Ipv6Status(True, f"{DISABLE_IPV6_SYSCTL} = 0")

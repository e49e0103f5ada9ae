"""Router state on top of fake-switches' objects: routed ports, loopbacks, IOS address rules.

Ports keep fake-switches' convention (``ips[0]`` is the primary IPv4 address, ``ips[1:]``
the secondaries, as ``netaddr.IPNetwork``) so its helpers keep working; IPv6 addresses
live in ``ipv6``. The checks here return the exact text real IOS prints, or ``None``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from fake_switches.switch_configuration import SwitchConfiguration, VlanPort
from netaddr import IPAddress, IPNetwork  # type: ignore[import-untyped,unused-ignore]

LOOPBACK = "Loopback"
MAX_LOOPBACK = 2147483647

#: Where an interface's addressing came from, as ``show ip interface brief`` calls it.
SOURCE_UNSET = "unset"
SOURCE_NVRAM = "NVRAM"
SOURCE_MANUAL = "manual"

#: ``vrf forwarding`` of a VRF that has no ``vrf definition``.
VRF_MISSING = "% VRF {name} not configured."
#: What IOS prints when a VRF change removes an interface's addresses (real IOS text).
VRF_REMOVED = "% Interface {port} {family} disabled and address(es) removed due to {how} VRF {vrf}"

#: Not verified against a real router (the other refusal texts are).
NO_PRIMARY = "% Secondary address not allowed without primary address"
MUST_DELETE_SECONDARY = "% Must delete secondary before deleting primary"


class RouterPort(VlanPort):  # type: ignore[misc]
    """A routed (layer 3) port of a router; physical unless it is a :class:`LoopbackPort`."""

    is_loopback = False
    ips: list[IPNetwork]

    def __init__(self, name: str) -> None:
        super().__init__(None, name)
        self.ipv6: list[IPNetwork] = []
        self.shutdown = False
        self.address_source = SOURCE_UNSET
        self.vrf: str | None = None
        #: Other interface lines kept as typed, by what they set (``ip ospf``, ``ip pim``).
        self.extras: dict[str, str] = {}

    @property
    def primary(self) -> IPNetwork | None:
        """The primary IPv4 address, if any."""
        return self.ips[0] if self.ips else None

    @property
    def secondaries(self) -> list[IPNetwork]:
        """Secondary IPv4 addresses in the order they were added."""
        return list(self.ips[1:])

    def clear_addresses(self) -> None:
        """Drop every IPv4 and IPv6 address."""
        self.ips = []
        self.ipv6 = []

    @property
    def status(self) -> tuple[str, str]:
        """(line status, protocol status) as IOS prints them."""
        if self.shutdown:
            return "administratively down", "down"
        return "up", "up"


class LoopbackPort(RouterPort):
    """``LoopbackN``: created by ``interface LoopbackN``, removed by ``no interface``."""

    is_loopback = True

    @property
    def number(self) -> int:
        """The N of LoopbackN."""
        return int(self.name[len(LOOPBACK) :])


def router_ports(conf: SwitchConfiguration) -> list[RouterPort]:
    """Physical ports in hardware order, then loopbacks by number (IOS show order)."""
    physical = [p for p in conf.ports if isinstance(p, RouterPort) and not p.is_loopback]
    return physical + loopbacks(conf)


def loopbacks(conf: SwitchConfiguration) -> list[LoopbackPort]:
    """Loopback interfaces sorted by number."""
    found = [p for p in conf.ports if isinstance(p, LoopbackPort)]
    return sorted(found, key=lambda p: p.number)


def find_port(conf: SwitchConfiguration, name: str) -> RouterPort | None:
    """The port with exactly this canonical name."""
    for port in conf.ports:
        if isinstance(port, RouterPort) and port.name == name:
            return port
    return None


def interface_types(conf: SwitchConfiguration) -> list[str]:
    """Interface type names this router knows (``Loopback`` plus its physical types)."""
    types = [LOOPBACK]
    for port in router_ports(conf):
        kind = re.match(r"[A-Za-z-]+", port.name)
        if kind and kind.group(0) not in types:
            types.append(kind.group(0))
    return types


@dataclass(frozen=True)
class IfRef:
    """Result of parsing an interface name typed by a user.

    ``name`` is canonical when ``error`` is None; ``error`` is ``"invalid"``,
    ``"incomplete"`` or ``"ambiguous"``; ``bad_token`` is the index (within the tokens
    given to :func:`parse_interface`) the caret points at; ``used`` how many tokens the
    name took.
    """

    name: str = ""
    error: str | None = None
    bad_token: int = 0
    used: int = 0


def parse_interface(conf: SwitchConfiguration, tokens: list[str]) -> IfRef:
    """Parse ``Loopback0``, ``lo 0``, ``Gi0/0`` ... into a canonical interface name.

    Accepts any unambiguous, case-insensitive prefix of a known type; the number may be
    glued to the type or be the next token. Only syntax is checked: the caller decides
    whether the interface must exist.
    """
    if not tokens:
        return IfRef(error="incomplete")
    match = re.fullmatch(r"([A-Za-z-]+)(\S*)", tokens[0])
    if not match:
        return IfRef(error="invalid", bad_token=0)
    typed, number = match.group(1), match.group(2)
    used = 1
    number_token = 0
    if not number:
        if len(tokens) < 2:
            return IfRef(error="incomplete")
        number, used, number_token = tokens[1], 2, 1
    candidates = [t for t in interface_types(conf) if t.lower().startswith(typed.lower())]
    exact = [t for t in candidates if t.lower() == typed.lower()]
    if exact:
        candidates = exact
    if not candidates:
        return IfRef(error="invalid", bad_token=0)
    if len(candidates) > 1:
        return IfRef(error="ambiguous", bad_token=0)
    kind = candidates[0]
    if kind == LOOPBACK:
        if not number.isdigit() or int(number) > MAX_LOOPBACK:
            return IfRef(error="invalid", bad_token=number_token)
        return IfRef(name=f"{LOOPBACK}{int(number)}", used=used)
    if not re.fullmatch(r"\d+(/\d+)*", number):
        return IfRef(error="invalid", bad_token=number_token)
    return IfRef(name=f"{kind}{number}", used=used)


def parse_dotted_quad(text: str) -> IPAddress | None:
    """An IPv4 address in strict dotted-quad form, else None."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return None
    return IPAddress(text)


def mask_prefix(mask: IPAddress) -> int | None:
    """Prefix length of a contiguous netmask, else None."""
    value = int(mask)
    inverted = (~value) & 0xFFFFFFFF
    if inverted & (inverted + 1):
        return None
    return 32 - inverted.bit_length()


def check_ipv4(
    conf: SwitchConfiguration,
    port: RouterPort,
    address: IPAddress,
    mask: IPAddress,
    secondary: bool,
) -> str | None:
    """The refusal IOS prints for ``ip address`` on ``port``, or None when it is accepted.

    Call it only for a change: re-sending an address the port already has is a no-op.

    Mirrors IOS: non-contiguous mask, host part not valid (127/8, 0/8, class D/E),
    network/broadcast address of a /30 or wider, /32 on a non-loopback, then overlap
    with another interface's subnet (``% <new network> overlaps with <interface>``).
    """
    prefix = mask_prefix(mask)
    if prefix is None:
        return f"Bad mask 0x{int(mask):08X} for address {address}"
    first = address.words[0]
    if first == 127 or first == 0 or first >= 224:
        return f"Not a valid host address - {address}"
    network = IPNetwork(f"{address}/{prefix}")
    if prefix <= 30 and address in (network.network, network.broadcast):
        return f"Bad mask /{prefix} for address {address}"
    if prefix == 32 and not port.is_loopback:
        return f"Bad mask /{prefix} for address {address}"
    for other in router_ports(conf):
        if other is port or other.vrf != port.vrf:
            continue
        for existing in other.ips:
            if network.first <= existing.last and existing.first <= network.last:
                return f"% {network.network} overlaps with {other.name}"
    if secondary and port.primary is None:
        return NO_PRIMARY
    replaced = None if secondary else port.primary
    for ip in port.ips:
        if ip is not replaced and ip.ip == address:
            return f"% {network.network} overlaps with {port.name}"
    return None


def check_ipv6(conf: SwitchConfiguration, port: RouterPort, network: IPNetwork) -> str | None:
    """The refusal IOS prints for ``ipv6 address`` on ``port``, or None when accepted."""
    for other in router_ports(conf):
        if other is port or other.vrf != port.vrf:
            continue
        for existing in other.ipv6:
            if existing.cidr == network.cidr:
                return (
                    f"% {format_v6(network.cidr)} is overlapping with "
                    f"{format_v6(existing.cidr)} on {other.name}"
                )
    return None


def format_v6(net: IPNetwork) -> str:
    """IOS spelling of an IPv6 prefix: upper case, compressed, ``ADDR/LEN``."""
    return f"{format_v6_address(net.ip)}/{net.prefixlen}"


def format_v6_address(address: IPAddress) -> str:
    """IOS spelling of an IPv6 address: upper case, compressed."""
    return str(address).upper()


def base_mac(hostname: str) -> int:
    """A stable 48-bit MAC for a router, derived from its hostname (5254.00xx.xxxx)."""
    digest = hashlib.sha256(hostname.encode()).digest()
    return (0x525400 << 24) | int.from_bytes(digest[:3], "big")


def port_mac(hostname: str, conf: SwitchConfiguration, port: RouterPort) -> int:
    """MAC of a physical port; loopbacks borrow the first physical port's, as IOS does."""
    physical = [p for p in router_ports(conf) if not p.is_loopback]
    index = physical.index(port) if port in physical else 0
    return base_mac(hostname) + index


def format_mac(mac: int) -> str:
    """``aabb.ccdd.eeff``."""
    raw = f"{mac:012x}"
    return f"{raw[0:4]}.{raw[4:8]}.{raw[8:12]}"


def link_local(mac: int) -> str:
    """EUI-64 link-local address IOS derives from a MAC, upper case."""
    octets = mac.to_bytes(6, "big")
    eui = bytes([octets[0] ^ 0x02]) + octets[1:3] + b"\xff\xfe" + octets[3:6]
    groups = [int.from_bytes(eui[i : i + 2], "big") for i in range(0, 8, 2)]
    return format_v6_address(IPAddress("fe80::" + ":".join(f"{g:x}" for g in groups)))

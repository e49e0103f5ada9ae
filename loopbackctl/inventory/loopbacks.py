"""A host's loopbacks: names, descriptions and addresses checked against what its
platform accepts (the capability flags of `platforms.base.Platform`), built into the
model's `Loopback`s, each address also kept as a `PlacedAddress` for the fleet-wide rules.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from typing import Any, Literal

from loopbackctl.errors import Mark
from loopbackctl.inventory.diagnostics import Diagnostics, KeyPath, describe
from loopbackctl.inventory.resolve import LazyMark, Resolved
from loopbackctl.model import IPInterface, Loopback
from loopbackctl.platforms.base import Platform
from loopbackctl.values import CONTROL

_LOOPBACK_NUMBER = re.compile(r"(?i)(?:lo|loopback)\s*(\d+)")
# Kept to what every VRF-capable platform takes as a word (IOS: up to 32 characters).
VRF_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,32}")


class PlacedAddress:
    """An address as placed on a loopback of a device, for the fleet-wide rules; where it
    is written is looked up only when a diagnostic needs it."""

    __slots__ = ("address", "anycast", "found", "host", "key", "loopback", "sub", "vrf")

    def __init__(
        self,
        host: str,
        address: IPInterface,
        found: Resolved,
        sub: KeyPath,
        loopback: str,
        anycast: bool,
        vrf: str | None = None,
    ) -> None:
        self.host = host
        self.address = address
        self.found = found  # the host's data.loopbacks; `sub` is the address's path in it
        self.sub = sub
        self.loopback = loopback
        self.anycast = anycast
        self.vrf = vrf  # addresses in different VRFs never clash
        self.key = (vrf, address.version, int(address))  # int(interface) is its address

    @property
    def mark(self) -> Mark:
        return self.found.mark(*self.sub)

    @property
    def lazy_mark(self) -> LazyMark:
        return self.found.lazy_mark(*self.sub)


def build_loopbacks(
    host: str, rules: Platform, found: Resolved, allow_subnets: bool, diags: Diagnostics
) -> tuple[list[Loopback], list[PlacedAddress]]:
    """The loopbacks of `found` (the host's resolved data.loopbacks, a list), and the
    addresses they place on the device. An item that is not a mapping with a text name
    is reported by the schema and left out here."""
    return _HostLoopbacks(host, rules, found, allow_subnets, diags).build()


# A loopback's valid addresses, in the order written, each with its index in the list.
Addresses = dict[IPInterface, int]


class _HostLoopbacks:
    """One host's list of loopbacks, checked against its platform's rules. Every
    diagnostic names the host and a place inside the list (`found`)."""

    def __init__(
        self, host: str, rules: Platform, found: Resolved, allow_subnets: bool, diags: Diagnostics
    ) -> None:
        self.host = host
        self.rules = rules
        self.found = found
        self.allow_subnets = allow_subnets
        self.diags = diags
        self.names: dict[str, int] = {}  # the first item of each loopback name
        self.placed: list[PlacedAddress] = []

    def error(self, sub: KeyPath, msg: str) -> None:
        self.found.error(self.diags, self.host, sub, msg)

    def build(self) -> tuple[list[Loopback], list[PlacedAddress]]:
        out: list[Loopback] = []
        for i, lb in enumerate(self.found.value):
            if isinstance(lb, dict) and isinstance(lb.get("name"), str):
                out.append(self.loopback(i, lb))
        return out, self.placed

    def loopback(self, i: int, lb: dict[str, Any]) -> Loopback:
        """Item `i` of the list; the addresses it places go to `placed`."""
        name: str = lb["name"]
        self.check_name(i, name)
        desc = lb.get("description")
        if isinstance(desc, str):
            self.check_description(i, desc)
        shutdown = lb.get("shutdown") is True
        if shutdown and not self.rules.shutdown:
            self.error(
                (i, "shutdown"),
                f"shutdown is not supported on {self.rules.title} {self.rules.interface_example}"
                " (every local service depends on it); remove it",
            )
        addrs = self.addresses(i, "addresses", self.allow_subnets)
        absent = self.addresses(i, "absent_addresses", True)
        for a, j in absent.items():
            if a in addrs:
                self.error(
                    (i, "absent_addresses", j),
                    f"{a} is listed both in addresses and absent_addresses; keep one",
                )
        state: Literal["present", "absent"] = "absent" if lb.get("state") == "absent" else "present"
        anycast = lb.get("anycast") is True
        vrf = self.vrf(i, lb.get("vrf"))
        if state == "absent":
            self.check_absent(i, name, bool(addrs))
        else:
            self.placed.extend(
                PlacedAddress(self.host, a, self.found, (i, "addresses", j), name, anycast, vrf)
                for a, j in addrs.items()
            )
        return Loopback(
            name=name,
            addresses=tuple(addrs),
            description=desc if isinstance(desc, str) else None,
            shutdown=shutdown,
            state=state,
            absent_addresses=tuple(absent),
            anycast=anycast,
            vrf=vrf,
        )

    def vrf(self, i: int, vrf: Any) -> str | None:
        """The loopback's VRF (None: the global table); a wrong one is reported."""
        if not isinstance(vrf, str) or CONTROL.search(vrf):
            return None  # a wrong type or character is reported where it is written
        if not self.rules.vrfs:
            self.error(
                (i, "vrf"),
                f"{self.rules.title} {self.rules.interface_example} has no VRF; remove vrf",
            )
            return None
        if not VRF_NAME.fullmatch(vrf):
            self.error(
                (i, "vrf"),
                f"VRF name {vrf!r} is not valid: 1 to 32 letters, digits and . _ : -",
            )
            return None
        return vrf

    def check_absent(self, i: int, name: str, has_addresses: bool) -> None:
        """A loopback with state: absent."""
        if not self.rules.deletable:
            self.error(
                (i, "state"),
                f"{self.rules.title} {self.rules.interface_example} cannot be absent; list the"
                " addresses to remove in absent_addresses",
            )
        if has_addresses:
            self.error(
                (i, "addresses"),
                f"loopback {name} is state: absent but lists addresses; remove the addresses"
                " or set state: present",
            )

    # -- names and descriptions

    def check_name(self, i: int, name: str) -> None:
        """A name the platform accepts, once per host."""
        if not CONTROL.search(name):  # a control character is reported where it is written
            problem = _name_problem(name, self.rules)
            if problem is not None:
                self.error((i, "name"), problem)
        first = self.names.setdefault(name, i)
        if first != i:
            self.error(
                (i, "name"),
                f"loopback {name} is listed twice on this host (also item {first},"
                f" {self.found.mark(first, 'name')}); merge the two entries",
            )

    def check_description(self, i: int, desc: str) -> None:
        if CONTROL.search(desc) or _description_is_fine(desc, self.rules):
            return  # a control character is reported where it is written
        for problem in _description_problems(desc, self.rules):
            self.error((i, "description"), problem)

    # -- addresses

    def addresses(self, i: int, key: str, allow_subnets: bool) -> Addresses:
        """The valid addresses of loopback `i`'s list `key`."""
        raw = self.found.value[i].get(key)
        if not isinstance(raw, list):
            return {}
        out: Addresses = {}
        seen: dict[Any, int] = {}
        rules = self.rules
        for j, text in enumerate(raw):
            sub = (i, key, j)
            addr = self.address(text, sub)
            if addr is None:
                continue
            ip = addr.ip
            if ip in seen:
                self.error(
                    sub,
                    f"{ip} is listed twice in this list (also item {seen[ip]},"
                    f" {self.found.mark(i, key, seen[ip])}); remove one",
                )
                continue
            seen[ip] = j
            refused = _reserved(addr, rules) if rules.reserved_addresses else None
            if refused is not None:
                self.error(sub, refused)
                continue
            full = addr.max_prefixlen
            if rules.host_prefixes and not allow_subnets and addr.network.prefixlen != full:
                self.error(
                    sub,
                    f"{addr} is not a host prefix; router loopbacks carry /{full}"
                    f" (write {ip}/{full}, or set data.allow_subnet_loopbacks: true)",
                )
            out[addr] = j
        return out

    def address(self, text: Any, sub: KeyPath) -> IPInterface | None:
        """`text` as an address with prefix length; None, reported, when it is not a
        usable unicast one."""
        if not isinstance(text, str):
            self.error(
                sub, f"an address must be text like 10.0.0.1/32, not {describe(text)}; quote it"
            )
            return None
        if CONTROL.search(text):
            return None  # reported where it is written
        addr = _fast_interface(text)
        if addr is not None and not (
            addr.ip.is_multicast
            or addr.ip.is_unspecified
            or (addr.version == 4 and addr.network.prefixlen < 31)
        ):
            return addr  # the common case, already known to be fine
        addr, problem = _judge_address(text)
        if problem is not None:
            self.error(sub, problem)
        return addr


def _name_problem(name: str, rules: Platform) -> str | None:
    """Why the platform refuses loopback name `name`, if it does."""
    if not rules.interface_pattern.fullmatch(name):
        hint = ""
        m = _LOOPBACK_NUMBER.fullmatch(name)
        if "{n}" not in rules.interface_example:
            hint = f"; write {rules.interface_example}"
        elif m:
            hint = f"; write {rules.interface_example.format(n=int(m.group(1)))}"
        return (
            f"interface name {name!r} is not valid on {rules.name} ({rules.interface_hint}){hint}"
        )
    if rules.max_interface_number is not None:
        number = int(re.sub(r"\D", "", name))
        if number > rules.max_interface_number:
            return f"{name} is out of range ({rules.interface_hint}); pick a smaller number"
    return None


def _description_is_fine(desc: str, rules: Platform) -> bool:
    """The common case, decided fast."""
    return (
        rules.descriptions
        and desc.strip() == desc
        and desc.isascii()
        and bool(desc)
        and (rules.max_description is None or len(desc) <= rules.max_description)
        and not any(c in desc for c in rules.description_forbidden)
    )


def _description_problems(desc: str, rules: Platform) -> Iterator[str]:
    """What the platform refuses or changes in `desc`, one message each."""
    if not rules.descriptions:
        yield (
            f"{rules.title} {rules.interface_example} has no description; remove it (write it"
            " as a YAML comment instead)"
        )
        return
    if not desc.strip():
        yield "description is empty; write some text or remove the key"
        return
    if rules.max_description is not None and len(desc) > rules.max_description:
        yield (
            f"description is {len(desc)} characters; {rules.name} accepts at most"
            f" {rules.max_description}: shorten it"
        )
    bad = sorted({c for c in desc if c in rules.description_forbidden})
    if bad:
        yield (
            f"description contains {''.join(bad)!r}, which {rules.name} reads as a"
            " command (help request); remove it"
        )
    if rules.description_ascii and not desc.isascii():
        yield (
            f"description has non-ASCII characters, which {rules.title} stores mangled"
            " (verify would then always differ); use ASCII"
        )
    if desc != desc.strip():
        yield (
            "description has leading or trailing spaces, which the device drops"
            " (verify would then always differ); remove them"
        )


def _reserved(addr: IPInterface, rules: Platform) -> str | None:
    """Why a platform that refuses reserved addresses refuses `addr`, if it does."""
    if addr.ip.is_loopback:
        return (
            f"{addr} is in {'127.0.0.0/8' if addr.version == 4 else '::1'}, which"
            f" {rules.name} refuses on a loopback interface; use a routable address"
        )
    if addr.version == 6 and addr.ip.is_link_local:
        return f"{addr} is link-local; give the loopback a global IPv6 address"
    return None


def _judge_address(text: str) -> tuple[IPInterface | None, str | None]:
    """`text` parsed by ipaddress, or what is wrong with it."""
    if "/" not in text:
        full = "128" if ":" in text else "32"
        return None, f"address {text!r} has no prefix length; write it as {text}/{full}"
    try:
        addr = ipaddress.ip_interface(text)
    except ValueError as exc:
        return None, (
            f"{text!r} is not a valid IPv4 or IPv6 address with prefix length ({exc});"
            " write it like 10.255.0.1/32 or 2001:db8::1/128"
        )
    if addr.ip.is_multicast or addr.ip.is_unspecified:
        return None, f"{text} is not a unicast address; a loopback needs one"
    if (
        addr.version == 4
        and addr.network.prefixlen < 31
        and addr.ip in (addr.network.network_address, addr.network.broadcast_address)
    ):
        return None, (
            f"{text} is the network or broadcast address of {addr.network}; use a host address"
        )
    return addr, None


def _fast_interface(text: str) -> IPInterface | None:
    """`ipaddress.ip_interface(text)` for plain ADDRESS/PREFIXLEN text, several times
    faster (the address is parsed by inet_pton); None when the text is anything else,
    so that ipaddress itself judges it and explains what is wrong."""
    address, _, prefix = text.partition("/")
    if not (prefix.isascii() and prefix.isdigit()):
        return None
    length = int(prefix)
    try:
        if ":" in address:
            if length > 128:
                return None
            packed = socket.inet_pton(socket.AF_INET6, address)
            return ipaddress.IPv6Interface((int.from_bytes(packed, "big"), length))
        if length > 32:
            return None
        packed = socket.inet_pton(socket.AF_INET, address)
        return ipaddress.IPv4Interface((int.from_bytes(packed, "big"), length))
    except (OSError, ValueError):
        return None

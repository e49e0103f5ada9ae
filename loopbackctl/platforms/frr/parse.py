"""FRRouting answers → data. Pure: text in, data out; every reader fails closed.

- `show interface lo json` + `show running-config` (one vtysh call): zebra's addresses on
  lo, and the running configuration's `interface lo` block and `router` blocks;
- `show ip ospf vrf all json`, `show ipv6 ospf6 vrf all json`, `show bgp vrfs json`: the
  router-id each running protocol instance uses, per VRF;
- `show ip route A/32 json` (and IPv6) per destination, in one vtysh call: the route to
  each other router's loopback.

An answer that is not what FRR 8 prints raises ParseError (a DeviceError): a host fails,
it never reads as "no addresses" or "no routing".
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from loopbackctl.errors import ParseError
from loopbackctl.model import IPInterface
from loopbackctl.platforms.frr.quirks import LO

_HEADER = re.compile(r"^(Building configuration\.\.\.|Current configuration:?|!)\s*$")
_ROUTER = re.compile(r"^router (?P<proto>ospf6|ospf|bgp)(?: \d+(?:\.\d+)?)?(?: vrf (?P<vrf>\S+))?$")
_ROUTER_ID = re.compile(r"^ (?:ospf6|ospf|bgp) router-id (?P<rid>\S+)\s*$")
DEFAULT_VRF = "default"
SHOW = "show running-config"


@dataclass(frozen=True)
class Running:
    """What loopbackctl reads from `show running-config`: the `interface lo` block (its
    text without `exit`, None when FRR prints none) and, per (protocol, VRF) with a
    `router` block, the router-id configured there (None: not configured)."""

    lo: str | None
    router_ids: dict[tuple[str, str], ipaddress.IPv4Address | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadLo:
    """One read of lo through vtysh: zebra's addresses and the running configuration."""

    zebra: frozenset[IPInterface]
    running: Running


def split_json(text: str, what: str) -> tuple[list[Any], str]:
    """The JSON objects at the start of `text`, one after another (vtysh prints one per
    `-c`), and the text after them."""
    decoder = json.JSONDecoder()
    out: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text) or text[pos] not in "{[":
            return out, text[pos:]
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ParseError(f"{what}: invalid JSON ({exc.msg} at {exc.pos})") from None
        out.append(doc)


def _blocks(text: str) -> Iterator[tuple[str, list[str]]]:
    """(top-level line, its indented lines) of a running configuration, `exit` dropped."""
    current: tuple[str, list[str]] | None = None
    for line in text.splitlines():
        if not line.strip() or line.strip() == "!":
            continue
        if line[:1].isspace():
            if current is None:
                raise ParseError(f"{SHOW}: {line.strip()!r} outside a block")
            current[1].append(line.rstrip())
            continue
        if current is not None:
            yield current
            current = None
        if line.rstrip() == "exit":
            continue
        current = (line.rstrip(), [])
    if current is not None:
        yield current


def parse_running(text: str) -> Running:
    """The `interface lo` block and the configured router-ids. The text must be a whole
    running configuration: its header first, `end` last."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[-1].strip() != "end":
        raise ParseError(f"{SHOW} did not end with `end`; the answer is cut short")
    start = 0
    while start < len(lines) - 1 and _HEADER.match(lines[start]):
        start += 1
    if not any(line.startswith("Current configuration") for line in lines[:start]):
        raise ParseError(f"{SHOW} printed {lines[0].strip()[:60]!r} before its header")
    lo: str | None = None
    router_ids: dict[tuple[str, str], ipaddress.IPv4Address | None] = {}
    for top, children in _blocks("\n".join(lines[start:-1])):
        if top == f"interface {LO}":
            if lo is not None:
                raise ParseError(f"{SHOW} shows interface lo twice; cannot read it")
            lo = "\n".join([top, *children])
            continue
        m = _ROUTER.match(top)
        if m is None:
            continue
        key = (m.group("proto"), m.group("vrf") or DEFAULT_VRF)
        found = [r.group("rid") for r in map(_ROUTER_ID.match, children) if r]
        if len(found) > 1:
            raise ParseError(f"{SHOW}: {top} sets its router-id twice")
        router_ids[key] = _ipv4(found[0], f"{top} router-id") if found else None
    return Running(lo, router_ids)


def _ipv4(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise ParseError(f"{what} is {text[:40]!r}, not an IPv4 address") from None


def parse_read(text: str) -> ReadLo:
    """The answer of `vtysh -c 'show interface lo json' -c 'show running-config'`."""
    docs, rest = split_json(text, "show interface lo json")
    if len(docs) != 1:
        raise ParseError(f"show interface lo json printed {len(docs)} JSON documents, not 1")
    return ReadLo(zebra_addresses(docs[0]), parse_running(rest))


def zebra_addresses(doc: Any) -> frozenset[IPInterface]:
    """lo's addresses in zebra's `show interface lo json`."""
    if not isinstance(doc, dict) or set(doc) != {LO} or not isinstance(doc[LO], dict):
        raise ParseError("show interface lo json did not describe lo alone")
    entries = doc[LO].get("ipAddresses", [])
    if not isinstance(entries, list):
        raise ParseError("show interface lo json: ipAddresses is not a list")
    out: set[IPInterface] = set()
    for e in entries:
        addr = e.get("address") if isinstance(e, dict) else None
        if not isinstance(addr, str):
            raise ParseError(f"show interface lo json: an address entry without address: {e!r:.80}")
        try:
            out.add(ipaddress.ip_interface(addr))
        except ValueError:
            raise ParseError(f"show interface lo json: {addr[:60]!r} is not an address") from None
    return frozenset(out)


RouterIds = dict[str, ipaddress.IPv4Address]


def ospf_router_ids(doc: Any, proto: str = "ospf") -> RouterIds:
    """VRF → router-id from `show ip ospf vrf all json` (keyed by VRF) or, as ospf6d
    prints it, one instance's object (`routerId` at the top, `vrfName` if not default);
    {} when no instance runs."""
    if not isinstance(doc, dict):
        raise ParseError(f"show {proto} json is not an object")
    if "routerId" in doc:
        vrf = doc.get("vrfName", DEFAULT_VRF)
        return {str(vrf): _ipv4(str(doc["routerId"]), f"{proto} routerId")}
    out: RouterIds = {}
    for vrf, inst in doc.items():
        if not isinstance(inst, dict) or "routerId" not in inst:
            raise ParseError(f"show {proto} json: VRF {vrf!r} has no routerId")
        out[str(vrf)] = _ipv4(str(inst["routerId"]), f"{proto} routerId of VRF {vrf}")
    return out


def bgp_router_ids(doc: Any) -> RouterIds:
    """VRF → router-id from `show bgp vrfs json`."""
    vrfs = doc.get("vrfs") if isinstance(doc, dict) else None
    if not isinstance(vrfs, dict):
        raise ParseError("show bgp vrfs json has no vrfs object")
    out: RouterIds = {}
    for vrf, inst in vrfs.items():
        rid = inst.get("routerId") if isinstance(inst, dict) else None
        if not isinstance(rid, str):
            raise ParseError(f"show bgp vrfs json: VRF {vrf!r} has no routerId")
        out[str(vrf)] = _ipv4(rid, f"bgp routerId of VRF {vrf}")
    return out


@dataclass(frozen=True)
class Route:
    """The selected route to one prefix: its protocol, whether the kernel has it, and
    its next hops as `via IP dev IF` (or `dev IF`)."""

    protocol: str
    installed: bool
    nexthops: tuple[str, ...]


def routes(text: str, prefixes: list[IPInterface]) -> list[Route | None]:
    """Per prefix (in order), the selected route in its `show ip[v6] route P json`, None
    when there is none. The answer must hold exactly one document per prefix."""
    docs, rest = split_json(text, "show ip route json")
    if rest.strip() or len(docs) != len(prefixes):
        raise ParseError(
            f"show ip route json answered {len(docs)} documents for {len(prefixes)} prefixes"
        )
    return [_route(doc, p) for doc, p in zip(docs, prefixes, strict=True)]


def _route(doc: Any, prefix: IPInterface) -> Route | None:
    if not isinstance(doc, dict):
        raise ParseError(f"show ip route {prefix} json is not an object")
    if not doc:
        return None
    entries = doc.get(str(prefix.network))
    if set(doc) != {str(prefix.network)} or not isinstance(entries, list):
        raise ParseError(f"show ip route {prefix} json answered for {sorted(doc)[:3]}")
    selected = [e for e in entries if isinstance(e, dict) and e.get("selected")]
    if not selected:
        return None
    e = selected[0]
    hops = []
    for h in e.get("nexthops", []):
        if not isinstance(h, dict) or not h.get("active", False):
            continue
        dev = f"dev {h['interfaceName']}" if "interfaceName" in h else ""
        hops.append(" ".join(x for x in (f"via {h['ip']}" if "ip" in h else "", dev) if x))
    return Route(str(e.get("protocol", "?")), bool(e.get("installed", False)), tuple(hops))

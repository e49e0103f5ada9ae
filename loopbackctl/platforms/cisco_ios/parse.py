"""Cisco IOS show outputs → structured rows → observed Loopbacks. Pure: text in, data out.

Sources, each the best parsed one for its fields:
- `show ip interface` (ntc-templates, pinned to major 9; the interface headers in the
  text must be exactly its rows): every interface, IPv4 primary + secondaries with prefix
  lengths (device order, primary first), admin state.
- `show interfaces`: descriptions (and admin state, cross-checked), read by this module
  (parse_show_interfaces), not by ntc-templates: its template has no catch-all error
  rule, so a header of a form it does not know (IOS-XE's `pseudowire1 is up`, an
  indented header) is skipped and that interface's lines, its `Description:` included,
  land on the interface before it.
- `show ipv6 interface brief` (ntc-templates; every line must be one IOS prints there):
  every interface's IPv6 addresses, without prefix lengths.
- `show running-config interface LoopbackN`, only for loopbacks with a global IPv6
  address: the prefix lengths. ntc-templates 9 has no `show ipv6 interface` template
  and its running-config template keeps one IPv6 address per interface and raises on
  IOS's trailing `end`, so this one command is read with a small TextFSM template of
  our own (RUNNING_CONFIG_TEMPLATE); its address set must equal the brief's.

Every parse fails closed: a line it does not expect either cannot change what is read
(an unknown detail line of `show interfaces`, skipped by position) or raises ParseError
(a DeviceError) for that host: a header of an unknown form, a `Description:` where IOS
does not print one, an interface block cut short, any line ntc-templates or our own
templates do not know. An unparsable or refused answer is a failure, never "no
loopbacks", and never another interface's data.
"""

from __future__ import annotations

import io
import ipaddress
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from loopbackctl.errors import ParseError
from loopbackctl.model import IPInterface, Loopback

SHOW_IP_INTERFACE = "show ip interface"
SHOW_INTERFACES = "show interfaces"
SHOW_IPV6_BRIEF = "show ipv6 interface brief"
SHOW_RUNNING_INTERFACE = "show running-config interface {name}"
# verify --routing (see routing_facts below).
SHOW_IP_PROTOCOLS = "show ip protocols"
SHOW_IP_OSPF = "show ip ospf"
SHOW_IP_BGP_SUMMARY = "show ip bgp summary"
SHOW_RUNNING_ROUTERS = "show running-config | section ^router"

# Field names of the IOS templates changed between ntc-templates majors (e.g. 1.x
# `ipaddr` → `ip_address`): only this major's names are read.
NTC_TEMPLATES_MAJOR = 9
# ntc-templates file per command: read by name, not through the index, so neither
# NTC_TEMPLATES_DIR nor an index change can swap the template under us.
NTC_TEMPLATE_FILES: Mapping[str, str] = {
    SHOW_IP_INTERFACE: "cisco_ios_show_ip_interface.textfsm",
    SHOW_IPV6_BRIEF: "cisco_ios_show_ipv6_interface_brief.textfsm",
    SHOW_IP_BGP_SUMMARY: "cisco_ios_show_ip_bgp_summary.textfsm",
}

LOOPBACK_NAME = re.compile(r"Loopback(\d+)")
# `show ip interface` / `show interfaces` link status of an interface that is `shutdown`.
ADMIN_DOWN = "administratively down"
# Link status of an interface removed from the configuration that IOS keeps until reload
# (subinterfaces; `interface X` brings it back): it is not there.
DELETED = "deleted"
# Every link status an interface header may carry (`reset`: a port being reset;
# `standby mode`: a backup interface). A header with any other is refused.
LINK_STATES = (ADMIN_DOWN, "up", "down", DELETED, "reset", "standby mode")
_STATE = "|".join(re.escape(s) for s in LINK_STATES)
# An interface header: `X is up, line protocol is up` (protocol may be followed by
# `(connected)`, ` , Autostate Enabled`...; the status by `(spoofing)`); IOS-XE prints a
# pseudowire as `pseudowire1 is up` with no protocol. Some captures indent headers. The
# one name with spaces IOS prints is Catalyst's `Control Plane Interface`.
IF_HEADER = re.compile(
    rf"^\s*(?P<name>\S(?:.*?\S)?) is (?P<state>{_STATE})(?: \([\w -]+\))?\s*,"
    r"\s*line protocol is \S.*$"
)
IF_HEADER_BARE = re.compile(rf"^\s*(?P<name>\S*\d\S*) is (?P<state>{_STATE})\s*$")
# Anything that could start an interface block: a line naming a line protocol, or one that
# begins `<name with a digit> is `. Such a line that is not a header above is refused.
IF_HEADER_LIKE = re.compile(r"line protocol is|^\s*[^\s,]*\d[^\s,]* is ")
# `show interfaces` lines read by position within an interface block: the `Hardware is`
# lines open it (two when a module is absent), `Description:` follows them directly (or
# the header, in a block without hardware: IOS-XE pseudowires), the `MTU` line comes after.
IF_HARDWARE = re.compile(r"^\s*Hardware is ")
IF_DESCRIPTION = re.compile(r"^\s*Description:\s*(?P<text>.*?)\s*$")
IF_MTU = re.compile(r"^\s*MTU \d+ bytes")
# `show ipv6 interface brief`: an interface line, then one indented address per line.
V6_BRIEF_INTERFACE = re.compile(r"^(?P<name>\S+)\s+\[[^]/]+/[^]]+\]\s*$")
V6_BRIEF_ADDRESS = re.compile(r"^\s+\S+\s*$")
# Lines a vty with `exec prompt timestamp` prints before any show output.
TIMESTAMP = re.compile(r"^(Load for |Time source is )")
# `show ipv6 interface brief` prints this instead of an address when there is none.
V6_UNASSIGNED = "unassigned"

# A show command IOS refused answers with these (lenient templates would parse them to
# an empty table, which must never read as "no loopbacks").
SHOW_REFUSALS = (
    "% Invalid input detected",
    "% Incomplete command",
    "% Ambiguous command",
    "% Unknown command",
)

# `show running-config interface X`: IOS prints a header, the block, and a trailing
# `end` (which makes ntc-templates' own template raise). Lines of the block that do not
# touch IPv6 addresses are skipped; IPv6 forms loopbackctl does not manage (eui-64,
# anycast, autoconfig...) are collected in OTHER so the caller can refuse to guess.
RUNNING_CONFIG_TEMPLATE = r"""Value Required INTERFACE (\S+)
Value List IPV6 ([0-9A-Fa-f:.]+/\d+)
Value List OTHER (\S.*?)

Start
  ^Building\s+configuration
  ^Current\s+configuration\s*:
  ^!
  ^\s*$$
  ^interface\s+${INTERFACE}\s*$$ -> Interface
  ^end\s*$$
  ^. -> Error

Interface
  ^\s+ipv6\s+address\s+${IPV6}\s*$$
  ^\s+ipv6\s+address\s+\S+\s+link-local\s*$$
  ^\s+ipv6\s+address\s+${OTHER}\s*$$
  ^\s+\S
  ^!\s*$$ -> Record Start
  ^end\s*$$ -> Record Start
  ^\s*$$
  ^. -> Error
"""


# ntc-templates 9 has no template for `show ip ospf` nor for `show ip protocols`: these two
# small ones of our own read only the lines loopbackctl needs, and every line that starts
# a process (or a protocol) must be one they know.
SHOW_IP_OSPF_TEMPLATE = r"""Value Required PROCESS (\d+)
Value ROUTER_ID (\d+\.\d+\.\d+\.\d+)
Value VRF (\S+)
Value SHUTDOWN (shutdown)

Start
  ^\s*Routing\s+Process\s+"ospf\s -> Continue.Record
  ^\s*Routing\s+Process\s+"ospf\s+${PROCESS}"\s+with\s+ID\s+${ROUTER_ID}\s*$$
  ^\s*Connected\s+to\s+MPLS\s+VPN\s+Superbackbone,\s+VRF\s+${VRF}\s*$$
  ^\s*Routing\s+Process\s+is\s+${SHUTDOWN}\s*$$
  ^\s*Routing\s+Process -> Error
  ^\s*$$
  ^.
"""

SHOW_IP_PROTOCOLS_TEMPLATE = r"""Value Required PROTOCOL ([^"]+)
Value ROUTER_ID (\d+\.\d+\.\d+\.\d+)

Start
  ^Routing\s+Protocol\s+is -> Continue.Record
  ^Routing\s+Protocol\s+is\s+"${PROTOCOL}"\s*$$
  ^\s+Router\s+ID\s+${ROUTER_ID}\s*$$
  ^\*\*\*\s+IP\s+Routing\s+is\s+NSF\s+aware\s+\*\*\*\s*$$
  ^(Load\s+for\s+|Time\s+source\s+is\s+)
  ^\s*$$
  ^\s+\S
  ^. -> Error
"""

LOCAL_TEMPLATES: Mapping[str, str] = {
    SHOW_IP_OSPF: SHOW_IP_OSPF_TEMPLATE,
    SHOW_IP_PROTOCOLS: SHOW_IP_PROTOCOLS_TEMPLATE,
}


@dataclass(frozen=True)
class IpInterfaceRow:
    """One interface of `show ip interface`; `deleted`: IOS keeps it until reload, it is
    not configured."""

    name: str
    shutdown: bool
    ipv4: tuple[ipaddress.IPv4Interface, ...]
    deleted: bool = False
    vrf: str | None = None


@dataclass(frozen=True)
class InterfaceRow:
    """One interface of `show interfaces` (`deleted` as in IpInterfaceRow)."""

    name: str
    shutdown: bool
    description: str | None
    deleted: bool = False


@dataclass(frozen=True)
class RunningInterface:
    """One interface block of `show running-config interface X` (IPv6 addresses only)."""

    name: str
    ipv6: tuple[ipaddress.IPv6Interface, ...]
    other: tuple[str, ...]


def is_loopback(name: str) -> bool:
    return LOOPBACK_NAME.fullmatch(name) is not None


def loopback_number(name: str) -> int:
    m = LOOPBACK_NAME.fullmatch(name)
    return int(m.group(1)) if m else -1


@lru_cache(maxsize=1)
def _ntc_dir() -> Path:
    try:
        version = metadata.version("ntc-templates")
    except metadata.PackageNotFoundError:
        raise ParseError(
            f"ntc-templates is not installed; install ntc-templates {NTC_TEMPLATES_MAJOR}.x"
        ) from None
    if version.split(".")[0] != str(NTC_TEMPLATES_MAJOR):
        raise ParseError(
            f"ntc-templates {version} is installed but loopbackctl reads the field names of "
            f"major {NTC_TEMPLATES_MAJOR}; install ntc-templates>={NTC_TEMPLATES_MAJOR},"
            f"<{NTC_TEMPLATES_MAJOR + 1}"
        )
    import ntc_templates

    return Path(ntc_templates.__file__).parent / "templates"


@lru_cache(maxsize=8)
def _template_text(command: str) -> str:
    if command == SHOW_RUNNING_INTERFACE:
        return RUNNING_CONFIG_TEMPLATE
    if command in LOCAL_TEMPLATES:
        return LOCAL_TEMPLATES[command]
    return (_ntc_dir() / NTC_TEMPLATE_FILES[command]).read_text()


_FSMS = threading.local()


def _fsm(command: str) -> Any:
    """This thread's parsed TextFSM for `command`: parsing a template compiles its regexes
    (0.6 ms for `show ip interface`'s, each time); an FSM holds its state, so each thread
    keeps its own."""
    import textfsm

    cache: dict[str, Any] = _FSMS.__dict__.setdefault("fsms", {})
    if command not in cache:
        cache[command] = textfsm.TextFSM(io.StringIO(_template_text(command)))
    return cache[command]


def _refused(command: str, text: str) -> None:
    for line in text.splitlines():
        if line.strip().startswith(SHOW_REFUSALS):
            raise ParseError(f"IOS refused {command!r}: {line.strip()}")


def textfsm_rows(command: str, text: str) -> list[dict[str, Any]]:
    """Rows (lower-case keys) of the pinned template for `command`; ParseError on failure.

    `command` is one of the SHOW_* constants (SHOW_RUNNING_INTERFACE unformatted).
    """
    import textfsm

    _refused(command, text)
    try:
        fsm = _fsm(command)
        fsm.Reset()
        rows = fsm.ParseText(text)
    except (textfsm.TextFSMError, textfsm.TextFSMTemplateError) as exc:
        raise ParseError(f"cannot parse the answer to {command!r}: {exc}") from None
    header = [h.lower() for h in fsm.header]
    return [dict(zip(header, row, strict=True)) for row in rows]


_Row = TypeVar("_Row")


def _require(rows: list[_Row], command: str) -> list[_Row]:
    # Every router has interfaces: an empty table means an answer we did not understand.
    if not rows:
        raise ParseError(f"the answer to {command!r} lists no interface; cannot read it")
    return rows


def _header(command: str, line: str) -> re.Match[str] | None:
    """The interface header `line` is, None if it is none; ParseError if it looks like one
    of a form not known (its interface would vanish and its lines land on another)."""
    m = IF_HEADER.match(line) or IF_HEADER_BARE.match(line)
    if m is None and IF_HEADER_LIKE.search(line):
        raise ParseError(
            f"the answer to {command!r} has an interface header loopbackctl does not know: "
            f"{line.strip()!r}"
        )
    return m


def _same_interfaces(command: str, headers: list[str], rows: list[str]) -> None:
    # The template's rows must be exactly the headers in the text: an interface it skipped
    # would hand its lines to the row before it.
    if headers != rows:
        missed = [h for h in headers if h not in rows] or [r for r in rows if r not in headers]
        raise ParseError(
            f"the answer to {command!r} has {len(headers)} interface headers but "
            f"{len(rows)} were read ({', '.join(missed[:3]) or 'order differs'}); cannot read it"
        )


def parse_show_ip_interface(text: str) -> list[IpInterfaceRow]:
    """Every interface with its IPv4 addresses in device order (primary first)."""
    rows = _require(textfsm_rows(SHOW_IP_INTERFACE, text), SHOW_IP_INTERFACE)
    headers = [
        m["name"]
        for line in text.splitlines()
        if (m := _header(SHOW_IP_INTERFACE, line)) is not None
    ]
    _same_interfaces(SHOW_IP_INTERFACE, headers, [row["interface"] for row in rows])
    out: list[IpInterfaceRow] = []
    for row in rows:
        ips, lens = row["ip_address"], row["prefix_length"]
        if len(ips) != len(lens):
            raise ParseError(f"{row['interface']}: addresses and prefix lengths do not pair")
        try:
            v4 = tuple(ipaddress.IPv4Interface(f"{a}/{n}") for a, n in zip(ips, lens, strict=True))
        except ValueError as exc:
            raise ParseError(f"{row['interface']}: unreadable IPv4 address: {exc}") from None
        state = row["link_status"]
        vrf = row["vrf"] or None
        out.append(IpInterfaceRow(row["interface"], state == ADMIN_DOWN, v4, state == DELETED, vrf))
    return out


def parse_show_interfaces(text: str) -> list[InterfaceRow]:
    """Every interface with its admin state and description (None when it has none).

    The text is cut into blocks at interface headers (IF_HEADER, IF_HEADER_BARE); a line
    that looks like a header of another form is refused. Within a block only the header
    and the `Description:` line are read, the rest is skipped: a description counts only
    where IOS prints it (directly after the `Hardware is` lines that open the block, or
    after the header when there are none), and every block must reach its `MTU` line, so
    a block cut short by a line that is not really a header is refused instead of losing
    its description.
    """
    _refused(SHOW_INTERFACES, text)
    blocks: list[tuple[re.Match[str], list[str]]] = []
    for line in text.splitlines():
        if IF_DESCRIPTION.match(line):  # never a header, whatever the description says
            if not blocks:
                raise ParseError(
                    f"the answer to {SHOW_INTERFACES!r} has a description before any "
                    "interface; cannot tell whose it is"
                )
            blocks[-1][1].append(line)
        elif (header := _header(SHOW_INTERFACES, line)) is not None:
            blocks.append((header, []))
        elif blocks and line.strip():
            blocks[-1][1].append(line)
    return _require([_interface_row(h, body) for h, body in blocks], SHOW_INTERFACES)


def _interface_row(header: re.Match[str], body: list[str]) -> InterfaceRow:
    name, state = header["name"], header["state"]
    opening = 0
    while opening < len(body) and IF_HARDWARE.match(body[opening]):
        opening += 1
    found = [(i, m) for i, line in enumerate(body) if (m := IF_DESCRIPTION.match(line))]
    late_hardware = any(IF_HARDWARE.match(line) for line in body[opening:])
    if late_hardware or len(found) > 1 or (found and found[0][0] != opening):
        raise ParseError(
            f"{name}: {SHOW_INTERFACES!r} shows a description or hardware line where IOS "
            "does not print one; cannot tell whose it is"
        )
    mtu = next((i for i, line in enumerate(body) if IF_MTU.match(line)), None)
    if mtu is None or mtu < opening + len(found):
        raise ParseError(
            f"{name}: its {SHOW_INTERFACES!r} block ends before its MTU line (cut short by "
            "a line loopbackctl does not know?); cannot read it"
        )
    description = found[0][1]["text"] if found else None
    return InterfaceRow(name, state == ADMIN_DOWN, description or None, state == DELETED)


def _ipv6_brief_interfaces(text: str) -> list[str]:
    """The interface names of a `show ipv6 interface brief` answer, after checking every
    line is one IOS prints there (an interface, one indented address, a timestamp first)."""
    names: list[str] = []
    for line in text.splitlines():
        if not line.strip() or (not names and TIMESTAMP.match(line)):
            continue
        if m := V6_BRIEF_INTERFACE.match(line):
            names.append(m["name"])
        elif not (names and V6_BRIEF_ADDRESS.match(line)):
            raise ParseError(
                f"the answer to {SHOW_IPV6_BRIEF!r} has a line loopbackctl does not know: "
                f"{line.strip()!r}"
            )
    return names


def parse_show_ipv6_brief(text: str) -> dict[str, tuple[ipaddress.IPv6Address, ...]]:
    """Interface → its global (non link-local) IPv6 addresses, in device order."""
    out: dict[str, tuple[ipaddress.IPv6Address, ...]] = {}
    rows = _require(textfsm_rows(SHOW_IPV6_BRIEF, text), SHOW_IPV6_BRIEF)
    names = _ipv6_brief_interfaces(text)
    _same_interfaces(SHOW_IPV6_BRIEF, names, [row["interface"] for row in rows])
    for row in rows:
        found: list[ipaddress.IPv6Address] = []
        for a in row["ipv6_address"]:
            if a.lower() == V6_UNASSIGNED:
                continue
            try:
                addr = ipaddress.IPv6Address(a)
            except ValueError:
                raise ParseError(f"{row['interface']}: unreadable IPv6 address {a!r}") from None
            if not addr.is_link_local:
                found.append(addr)
        out[row["interface"]] = tuple(found)
    return out


def parse_running_interface(text: str) -> list[RunningInterface]:
    """Interface blocks of `show running-config interface X` with their IPv6 prefixes."""
    out: list[RunningInterface] = []
    for row in textfsm_rows(SHOW_RUNNING_INTERFACE, text):
        try:
            v6 = tuple(ipaddress.IPv6Interface(a) for a in row["ipv6"])
        except ValueError as exc:
            raise ParseError(f"{row['interface']}: unreadable IPv6 address: {exc}") from None
        out.append(RunningInterface(row["interface"], v6, tuple(row["other"])))
    return out


def _one(rows: Iterable[Any], name: str, command: str) -> Any:
    found = [r for r in rows if r.name == name]
    if len(found) != 1:
        raise ParseError(f"{command!r} shows {name} {len(found)} times; cannot read it")
    return found[0]


def needs_running_config(
    ip_rows: Sequence[IpInterfaceRow], v6: Mapping[str, Sequence[ipaddress.IPv6Address]]
) -> list[str]:
    """Loopbacks whose IPv6 prefix lengths must be read from their running configuration."""
    return [r.name for r in ip_rows if is_loopback(r.name) and not r.deleted and v6.get(r.name)]


def loopbacks(
    ip_rows: Sequence[IpInterfaceRow],
    if_rows: Sequence[InterfaceRow],
    v6: Mapping[str, Sequence[ipaddress.IPv6Address]],
    running: Mapping[str, RunningInterface],
) -> tuple[Loopback, ...]:
    """Every loopback on the device, by number, from the four parsed sources.

    The sources must agree where they overlap (the interface list, admin state, the IPv6
    address set); if they do not, the state is not known and ParseError is raised. A
    deleted loopback (IOS keeps it until reload) is not there.
    """
    out: list[Loopback] = []
    for ip in (r for r in ip_rows if is_loopback(r.name)):
        name = ip.name
        info: InterfaceRow = _one(if_rows, name, SHOW_INTERFACES)
        if (info.shutdown, info.deleted) != (ip.shutdown, ip.deleted):
            raise ParseError(f"{name}: admin state differs between show commands; retry")
        if ip.deleted:
            continue
        if name not in v6:
            raise ParseError(f"{name}: missing from {SHOW_IPV6_BRIEF!r}; cannot read IPv6")
        addrs: list[IPInterface] = list(ip.ipv4)
        if v6[name]:
            cfg = running.get(name)
            if cfg is None:
                raise ParseError(f"{name}: IPv6 prefix lengths were not read")
            if cfg.other:
                raise ParseError(
                    f"{name}: IPv6 configuration loopbackctl does not manage: "
                    + "; ".join(f"ipv6 address {o}" for o in cfg.other)
                )
            if {a.ip for a in cfg.ipv6} != set(v6[name]) or len(cfg.ipv6) != len(v6[name]):
                raise ParseError(
                    f"{name}: IPv6 addresses differ between {SHOW_IPV6_BRIEF!r} and the "
                    "running configuration; retry"
                )
            addrs += cfg.ipv6
        out.append(Loopback(name, tuple(addrs), info.description, ip.shutdown))
    out.sort(key=lambda lb: loopback_number(lb.name))
    return tuple(out)


def router_id(ip_rows: Sequence[IpInterfaceRow]) -> ipaddress.IPv4Address | None:
    """The router-id IOS OSPF/BGP pick when none is configured: the highest primary IPv4
    address of an up loopback, else the highest primary IPv4 address of an up interface
    (IOS takes interfaces' primary addresses only, never secondaries; and only those of
    the global table for the global processes)."""
    for wanted in (True, False):
        ips = [
            r.ipv4[0].ip
            for r in ip_rows
            if is_loopback(r.name) == wanted
            and not (r.shutdown or r.deleted)
            and r.ipv4
            and r.vrf is None
        ]
        if ips:
            return max(ips)
    return None


# -- routing (verify --routing) ---------------------------------------------------------


@dataclass(frozen=True)
class OspfProcess:
    """One OSPF process of `show ip ospf`: its number, router-id and VRF (None: the global
    table); `shutdown`: stopped by its `shutdown` command (it uses no router-id)."""

    pid: int
    router_id: ipaddress.IPv4Address
    vrf: str | None
    shutdown: bool = False


@dataclass(frozen=True)
class RouterBlock:
    """One `router ospf|bgp` block of the running configuration: its first line and the
    router-id it configures (None: not configured)."""

    header: str
    router_id: ipaddress.IPv4Address | None


_PROCESS_LINE = re.compile(r'^\s*Routing\s+Process\s+"ospf\s')
_PROTOCOL_LINE = re.compile(r"^Routing\s+Protocol\s+is")
_ROUTER_BLOCK = re.compile(
    r"^router (?P<proto>ospf|bgp) (?P<number>\d+(?:\.\d+)?)(?: vrf (?P<vrf>\S+))?\s*$"
)
_OTHER_ROUTER = re.compile(r"^router \S")
_CONFIGURED_ID = {"ospf": re.compile(r"^ router-id (?P<rid>\S+)\s*$"),
                  "bgp": re.compile(r"^ bgp router-id (?P<rid>\S+)\s*$")}  # fmt: skip
_BGP_IDENTIFIER = re.compile(
    r"^BGP router identifier (?P<rid>\S+), local AS number (?P<asn>\d+(?:\.\d+)?)\s*$"
)
_CONFIG_HEADER = re.compile(r"^(Building configuration\.\.\.|Current configuration\s*:.*|!)\s*$")


def _ipv4(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise ParseError(f"{what} is {text[:40]!r}, not an IPv4 address") from None


def parse_show_ip_protocols(text: str) -> list[tuple[str, ipaddress.IPv4Address | None]]:
    """(`ospf 1`, `bgp 65000`, `isis`... as IOS names them, the `Router ID` it prints for
    them or None) for every routing protocol of the global table; [] when none runs."""
    rows = textfsm_rows(SHOW_IP_PROTOCOLS, text)
    headers = sum(1 for line in text.splitlines() if _PROTOCOL_LINE.match(line))
    if headers != len(rows):
        raise ParseError(
            f"the answer to {SHOW_IP_PROTOCOLS!r} names {headers} protocols but {len(rows)}"
            " were read; cannot read it"
        )
    out = []
    for row in rows:
        rid = row["router_id"]
        out.append((" ".join(row["protocol"].split()), _ipv4(rid, "Router ID") if rid else None))
    return out


def parse_show_ip_ospf(text: str) -> list[OspfProcess]:
    """Every OSPF process with its router-id and VRF, and whether it is shut down; []
    when none is configured."""
    rows = textfsm_rows(SHOW_IP_OSPF, text)
    headers = sum(1 for line in text.splitlines() if _PROCESS_LINE.match(line))
    if headers != len(rows):
        raise ParseError(
            f"the answer to {SHOW_IP_OSPF!r} has {headers} routing processes but"
            f" {len(rows)} were read; cannot read it"
        )
    out = []
    for row in rows:
        if not row["router_id"]:
            raise ParseError(f"{SHOW_IP_OSPF!r}: ospf {row['process']} shows no router-id")
        rid = _ipv4(row["router_id"], f"ospf {row['process']} router-id")
        out.append(OspfProcess(int(row["process"]), rid, row["vrf"] or None, bool(row["shutdown"])))
    return out


def parse_bgp_summary(text: str) -> tuple[ipaddress.IPv4Address, str]:
    """(router identifier, local AS) of `show ip bgp summary` (ntc-templates). Its
    template records a row per neighbour only (its EOF state records nothing): without
    neighbours the identifier line is read here, and must be the answer's only one."""
    rows = textfsm_rows(SHOW_IP_BGP_SUMMARY, text)
    found = sorted({(r["router_id"], r["local_as"]) for r in rows})
    if not rows:
        found = [(m["rid"], m["asn"]) for m in map(_BGP_IDENTIFIER.match, text.splitlines()) if m]
    if len(found) != 1:
        said = next((line.strip() for line in text.splitlines() if line.strip()), "nothing")
        raise ParseError(
            f"the answer to {SHOW_IP_BGP_SUMMARY!r} names {len(found)} router identifiers"
            f" (it said {said[:80]!r}); cannot read it"
        )
    rid, local_as = found[0]
    return _ipv4(rid, "BGP router identifier"), local_as


def parse_router_blocks(text: str) -> dict[tuple[str, str], RouterBlock]:
    """(`ospf`, PID) / (`bgp`, ASN) → its `router` block's first line and configured
    router-id, from `show running-config | section ^router` (other `router` blocks are
    skipped; any line that is neither a `router` block nor in one is refused)."""
    _refused(SHOW_RUNNING_ROUTERS, text)
    out: dict[tuple[str, str], RouterBlock] = {}
    current: tuple[str, str] | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            if current is None:
                if out or not _CONFIG_HEADER.match(line.strip()):
                    raise ParseError(f"{SHOW_RUNNING_ROUTERS!r}: {line.strip()!r} outside a block")
                continue
            if current[0] == "other":
                continue
            m = _CONFIGURED_ID[current[0]].match(line)
            if m is not None:
                block = out[current]
                if block.router_id is not None:
                    raise ParseError(f"{block.header} sets its router-id twice")
                rid = _ipv4(m.group("rid"), f"{block.header} router-id")
                out[current] = RouterBlock(block.header, rid)
            continue
        opened = _ROUTER_BLOCK.match(line)
        if opened is not None:
            current = (opened.group("proto"), opened.group("number"))
            if current in out:
                raise ParseError(f"{SHOW_RUNNING_ROUTERS!r} shows {line.strip()} twice")
            out[current] = RouterBlock(line.strip(), None)
        elif _OTHER_ROUTER.match(line):
            current = ("other", line)
        elif not (_CONFIG_HEADER.match(line) and not out):
            raise ParseError(
                f"{SHOW_RUNNING_ROUTERS!r} printed {line.strip()[:80]!r}; cannot read it"
            )
    return out

"""Routing processes of a simulated IOS router: OSPFv2 and BGP, their router-ids, and what
``show ip ospf``, ``show ip protocols`` and ``show ip bgp summary`` print about them.

No routing happens (the simulator has no forwarding plane and no neighbours): a process
holds its configuration and the router-id it runs with. IOS's router-id selection is the
point: a configured router-id, else the highest primary IPv4 address of an up loopback in
the process's VRF, else the highest primary IPv4 address of any up interface there, chosen
when the process starts. A running process keeps it whatever later happens to the
loopbacks, until ``clear ip ospf process`` / ``clear ip bgp *`` (or a reload); a newly
configured OSPF ``router-id`` also waits for the clear (IOS says so), a BGP ``bgp
router-id`` applies at once. An OSPF process with no address to take its router-id from
does not run; it starts as soon as one exists.

Layouts (see :func:`show_ip_ospf` and the others) are copied from real outputs kept in
``tests/data/ios-samples``: genieparser's ``iosxe/show_ip_ospf/golden_output4_output.txt``
(two processes, one in a VRF), ``iosxe/show_ip_protocols/golden_output_7_output.txt``
(OSPF and BGP) and ntc-templates' ``cisco_ios_show_ip_bgp_summary.raw`` and
``..._all.raw`` (a neighbour never up).

Not verified against a real router (chosen plausibly): ``show ip bgp summary`` of a BGP
process without neighbours prints its two header lines only; ``show ip ospf`` without an
OSPF process prints nothing; an OSPF process in a VRF is left out of ``show ip
protocols`` (IOS shows it under ``show ip protocols vrf NAME``, not modelled); ``% BGP is
already running; AS is N`` and ``% Process N is already configured with a different
VRF``. Not modelled: ``ipv6 router ospf`` (OSPFv3), BGP per-VRF router-ids,
``clear ip ospf PID process``, the SPF and LSA counters (fixed numbers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fake_switches.switch_configuration import SwitchConfiguration
from netaddr import IPAddress  # type: ignore[import-untyped,unused-ignore]

from .model import RouterPort, router_ports

OSPF = "ospf"
BGP = "bgp"
#: What IOS says when a configured OSPF router-id cannot replace the running one.
OSPF_RELOAD = '% OSPF: Reload or use "clear ip ospf process" command, for this to take effect'
#: The question ``clear ip ospf process`` asks (the default answer is no).
OSPF_RESET_ALL = "Reset ALL OSPF processes? [no]: "
NEIGHBOR_HEADER = (
    "Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd"
)
#: ``show ip bgp summary`` when no BGP process is configured.
BGP_NOT_ACTIVE = "% BGP not active"


@dataclass
class Process:
    """One ``router ospf PID [vrf NAME]`` or ``router bgp ASN`` block and its state.

    ``router_id``: the configured one (None: not configured); ``live``: the one the
    process runs with (None: it has not started); ``lines``: the other lines of the
    block, as typed (``network ...``, ``neighbor ...``)."""

    protocol: str
    number: int
    vrf: str | None = None
    router_id: IPAddress | None = None
    live: IPAddress | None = None
    started: float = 0.0
    lines: list[str] = field(default_factory=list)

    @property
    def header(self) -> str:
        """The block's first line as IOS prints it."""
        vrf = f" vrf {self.vrf}" if self.vrf else ""
        return f"router {self.protocol} {self.number}{vrf}"

    @property
    def id_line(self) -> str:
        """The line that configures the router-id (without its value)."""
        return "router-id" if self.protocol == OSPF else "bgp router-id"


def choose_router_id(conf: SwitchConfiguration, vrf: str | None) -> IPAddress | None:
    """IOS's choice without a configured router-id: the highest primary IPv4 address of an
    up loopback in `vrf`, else of any up interface in `vrf` (secondaries never count)."""
    up = [p for p in router_ports(conf) if p.vrf == vrf and not p.shutdown]
    for loopback in (True, False):
        found = [p.ips[0].ip for p in up if p.ips and p.is_loopback == loopback]
        if found:
            return max(found)
    return None


class Routing:
    """Every routing process of one router."""

    def __init__(self) -> None:
        self.processes: list[Process] = []
        #: While the startup configuration loads, no process starts (see `restart`).
        self.loading = False

    def clear(self) -> None:
        """Forget every process (a reset before booting again)."""
        self.processes = []

    def find(self, protocol: str, number: int) -> Process | None:
        """The process `protocol` `number`, if configured."""
        return next(
            (p for p in self.processes if p.protocol == protocol and p.number == number), None
        )

    def bgp(self) -> Process | None:
        """The BGP process (IOS runs one at most)."""
        return next((p for p in self.processes if p.protocol == BGP), None)

    def add(self, conf: SwitchConfiguration, process: Process) -> None:
        """Configure a process; it starts at once when it can take a router-id."""
        self.processes.append(process)
        self.processes.sort(key=lambda p: (p.protocol != OSPF, p.number))
        if not self.loading:
            self.start(conf, process)

    def remove(self, process: Process) -> None:
        """``no router ...``."""
        self.processes.remove(process)

    def start(self, conf: SwitchConfiguration, process: Process) -> None:
        """(Re)start `process`: it takes its router-id now."""
        process.live = process.router_id or choose_router_id(conf, process.vrf)
        process.started = time.monotonic()

    def restart(self, conf: SwitchConfiguration, protocol: str | None = None) -> None:
        """Restart every process (of `protocol`): a reload, or a clear."""
        for process in self.processes:
            if protocol is None or process.protocol == protocol:
                self.start(conf, process)

    def running(self, conf: SwitchConfiguration) -> list[Process]:
        """The processes that run: a process without a router-id yet starts as soon as an
        address it can take one from exists."""
        for process in self.processes:
            if process.live is None:
                self.start(conf, process)
        return [p for p in self.processes if p.live is not None]

    def config(self) -> list[str]:
        """The ``router`` blocks of the running configuration, as IOS prints them."""
        lines: list[str] = []
        for p in self.processes:
            lines.append(p.header)
            if p.router_id is not None:
                lines.append(f" {p.id_line} {p.router_id}")
            lines += [f" {line}" for line in p.lines]
            lines.append("!")
        return lines


def _elapsed(seconds: float) -> str:
    """IOS's `hh:mm:ss.mmm` of a duration shorter than a day (else `NdNNh`)."""
    if seconds >= 86400:
        return f"{int(seconds // 86400)}d{int(seconds % 86400 // 3600):02d}h"
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{millis:03d}"


def _areas(conf: SwitchConfiguration, p: Process) -> dict[str, list[RouterPort]]:
    """Area → the interfaces of the process's VRF in it (`ip ospf PID area A` on the
    interface, or a `network A WILDCARD area X` line covering its primary address)."""
    out: dict[str, list[RouterPort]] = {}
    networks = []
    for line in p.lines:
        words = line.split()
        if len(words) == 5 and words[0] == "network" and words[3] == "area":
            networks.append((IPAddress(words[1]), IPAddress(words[2]), words[4]))
    for port in router_ports(conf):
        if port.vrf != p.vrf or port.primary is None:
            continue
        area = None
        extra = port.extras.get("ip ospf", "").split()
        if len(extra) == 5 and extra[2] == str(p.number):
            area = extra[4]
        for address, wildcard, net_area in networks:
            mask = ~int(wildcard) & 0xFFFFFFFF
            if area is None and int(port.primary.ip) & mask == int(address) & mask:
                area = net_area
        if area is not None:
            # Area 0 and 0.0.0.0 are one area, named as it was first written.
            same = [a for a in out if IPAddress(_dotted(a)) == IPAddress(_dotted(area))]
            out.setdefault(same[0] if same else area, []).append(port)
    return out


def _area_name(area: str) -> str:
    """The backbone as IOS names it, in the form the area was configured in."""
    return f"BACKBONE({area})" if area in ("0", "0.0.0.0") else area


OSPF_TIMERS = (
    " Router is not originating router-LSAs with maximum metric",
    " Initial SPF schedule delay 50 msecs",
    " Minimum hold time between two consecutive SPFs 200 msecs",
    " Maximum wait time between two consecutive SPFs 5000 msecs",
    " Incremental-SPF disabled",
    " Initial LSA throttle delay 50 msecs",
    " Minimum hold time for LSA throttle 200 msecs",
    " Maximum wait time for LSA throttle 5000 msecs",
    " Minimum LSA arrival 100 msecs",
    " LSA group pacing timer 240 secs",
    " Interface flood pacing timer 33 msecs",
    " Retransmission pacing timer 66 msecs",
    " EXCHANGE/LOADING adjacency limit: initial 300, process maximum 300",
    " Number of external LSA 0. Checksum Sum 0x000000",
    " Number of opaque AS LSA 0. Checksum Sum 0x000000",
    " Number of DCbitless external and opaque AS LSA 0",
    " Number of DoNotAge external and opaque AS LSA 0",
)
OSPF_SUPPORTS = (
    " Supports only single TOS(TOS0) routes",
    " Supports opaque LSA",
    " Supports Link-local Signaling (LLS)",
    " Supports area transit capability",
    " Supports NSSA (compatible with RFC 3101)",
    " Supports Database Exchange Summary List Optimization (RFC 5243)",
)


def show_ip_ospf(conf: SwitchConfiguration, routing: Routing, booted: float) -> list[str]:
    """``show ip ospf``: one block per running OSPF process, a blank line between them
    (nothing at all without one); start times count from `booted` (monotonic)."""
    now = time.monotonic()
    lines: list[str] = []
    for p in (p for p in routing.running(conf) if p.protocol == OSPF):
        if lines:
            lines.append("")
        areas = _areas(conf, p)
        lines.append(f' Routing Process "ospf {p.number}" with ID {p.live}')
        if p.vrf:
            lines.append(f"   Domain ID type 0x0005, value 0.0.0.{p.number}")
        start, elapsed = _elapsed(p.started - booted), _elapsed(now - p.started)
        lines.append(f" Start time: {start}, Time elapsed: {elapsed}")
        lines += OSPF_SUPPORTS
        if p.vrf:
            lines += [f" Connected to MPLS VPN Superbackbone, VRF {p.vrf}", " Event-log disabled"]
        else:
            lines.append(" Event-log enabled, Maximum number of events: 1000, Mode: cyclic")
        lines += OSPF_TIMERS
        n = len(areas)
        lines += [
            f" Number of areas in this router is {n}. {n} normal 0 stub 0 nssa",
            " Number of areas transit capable is 0",
            " External flood list length 0",
            " IETF NSF helper support enabled",
            " Cisco NSF helper support enabled",
            " Reference bandwidth unit is 100 mbps",
        ]
        for area, ports in sorted(areas.items(), key=lambda a: IPAddress(_dotted(a[0]))):
            loops = sum(1 for port in ports if port.is_loopback)
            more = f" ({loops} loopback)" if loops else ""
            lines += [
                f"    Area {_area_name(area)}",
                f"        Number of interfaces in this area is {len(ports)}{more}",
                "        Area has no authentication",
                "        SPF algorithm last executed 00:00:01.000 ago",
                "        SPF algorithm executed 1 times",
                "        Area ranges are",
                "        Number of LSA 1. Checksum Sum 0x000000",
                "        Number of opaque link LSA 0. Checksum Sum 0x000000",
                "        Number of DCbitless LSA 0",
                "        Number of indication LSA 0",
                "        Number of DoNotAge LSA 0",
                "        Flood list length 0",
            ]
    return lines


def _dotted(area: str) -> str:
    return area if "." in area else str(IPAddress(int(area)))


def show_ip_protocols(conf: SwitchConfiguration, routing: Routing) -> list[str]:
    """``show ip protocols``: the running processes of the global table (a process in a
    VRF shows under ``show ip protocols vrf NAME`` on IOS)."""
    lines = ["*** IP Routing is NSF aware ***", ""]
    for p in routing.running(conf):
        if p.vrf is not None:
            continue
        lines += [
            f'Routing Protocol is "{p.protocol} {p.number}"',
            "  Outgoing update filter list for all interfaces is not set",
            "  Incoming update filter list for all interfaces is not set",
        ]
        if p.protocol == OSPF:
            areas = _areas(conf, p)
            n = len(areas)
            lines += [
                f"  Router ID {p.live}",
                f"  Number of areas in this router is {n}. {n} normal 0 stub 0 nssa",
                "  Maximum path: 4",
                "  Routing for Networks:",
            ]
            for line in p.lines:
                if line.startswith("network "):
                    lines.append("    " + line.removeprefix("network "))
            explicit = {
                area: [port.name for port in ports if "ip ospf" in port.extras]
                for area, ports in sorted(areas.items())
            }
            for area, names in explicit.items():
                if names:
                    lines.append(f"  Routing on Interfaces Configured Explicitly (Area {area}):")
                    lines += [f"    {name}" for name in names]
            lines += [
                "  Routing Information Sources:",
                "    Gateway         Distance      Last Update",
                "  Distance: (default is 110)",
                "",
            ]
        else:
            neighbors = _neighbors(p)
            lines += [
                "  IGP synchronization is disabled",
                "  Automatic route summarization is disabled",
            ]
            if neighbors:
                lines += [
                    "  Neighbor(s):",
                    "    Address          FiltIn FiltOut DistIn DistOut Weight RouteMap",
                    *[f"    {n}" for n, _ in neighbors],
                ]
            lines += [
                "  Maximum path: 1",
                "  Routing Information Sources:",
                "    Gateway         Distance      Last Update",
                "  Distance: external 20 internal 200 local 200",
                "",
            ]
    return lines


def _neighbors(p: Process) -> list[tuple[str, str]]:
    """(address, remote AS) of every `neighbor A remote-as N` line."""
    out = []
    for line in p.lines:
        words = line.split()
        if len(words) == 4 and words[0] == "neighbor" and words[2] == "remote-as":
            out.append((words[1], words[3]))
    return out


def show_ip_bgp_summary(conf: SwitchConfiguration, routing: Routing) -> list[str]:
    """``show ip bgp summary`` (and ``show bgp summary``): the router identifier and local
    AS, the table lines, and every neighbour, never established (no peer answers)."""
    p = routing.bgp()
    if p is None:
        return [BGP_NOT_ACTIVE]
    routing.running(conf)
    rid = p.live if p.live is not None else IPAddress("0.0.0.0")
    lines = [
        f"BGP router identifier {rid}, local AS number {p.number}",
        "BGP table version is 1, main routing table version 1",
    ]
    neighbors = _neighbors(p)
    if neighbors:
        lines += [
            "0 network entries using 0 bytes of memory",
            "0 path entries using 0 bytes of memory",
            "0/0 BGP path/bestpath attribute entries using 0 bytes of memory",
            "0 BGP route-map cache entries using 0 bytes of memory",
            "0 BGP filter-list cache entries using 0 bytes of memory",
            "BGP using 0 total bytes of memory",
            "BGP activity 0/0 prefixes, 0/0 paths, scan interval 60 secs",
            "",
            NEIGHBOR_HEADER,
        ]
        lines += [
            f"{address:<15} 4 {asn:>12}       0       0        1    0    0 never    Idle"
            for address, asn in neighbors
        ]
    return lines


def valid_router_id(text: str) -> IPAddress | None:
    """A router-id as IOS takes it: a dotted quad (0.0.0.0 refused)."""
    parts = text.split(".")
    if len(parts) != 4 or not all(x.isdigit() and int(x) <= 255 for x in parts):
        return None
    address = IPAddress(text)
    return address if int(address) else None

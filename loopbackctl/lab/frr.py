"""FRRouting routers: real zebra, ospfd and staticd in a network namespace, reached over SSH.

A router is a `Node` of kind "frr". In its own mount namespace a private directory is
bind-mounted over /etc/frr and another over /var/run/frr (both owned frr:frr); zebra,
ospfd and staticd start there (``-u frr -g frr -A 127.0.0.1``), ``vtysh -b`` loads its
frr.conf, and then its sshd starts in that same mount namespace: an SSH session's
``vtysh`` reaches that router's daemons, and ``write memory`` writes that router's
frr.conf, never the machine's.

Routers form an OSPFv2 and OSPFv3 fabric: a ring of three or more (a line of two), or a
line, each link a veth pair on a /31 of the lab's links slot (OSPFv3 over its link-local
addresses), area 0, point-to-point, hello 1 / dead 3, ``timers throttle spf 0 50 500``,
``timers lsa min-arrival 0``; ``interface lo`` is in area 0 of both, so every address later
added to lo is advertised, IPv4 and IPv6. The router-id is the router's lab loopback
address, configured (ospfd and ospf6d would otherwise keep whatever they saw first).
Management (eth0, on the lab's bridge) stays out of OSPF.
"""

from __future__ import annotations

import grp
import ipaddress
import json
import os
import pwd
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopbackctl.lab import netns
from loopbackctl.lab.errors import LabError
from loopbackctl.lab.kinds import DeviceKind, Mount
from loopbackctl.lab.node import Link, Node

if TYPE_CHECKING:
    from loopbackctl.lab.build import Lab

FRR_DIR = "/usr/lib/frr"
ZEBRA = f"{FRR_DIR}/zebra"
VTYSH = "/usr/bin/vtysh"
DAEMONS = ("zebra", "ospfd", "ospf6d", "staticd")
RUN_FRR = Path("/run/frr")

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def netns_lines(lab: Lab, router: Node) -> list[str]:
    """`ip` lines inside a router's namespace: lo and its link interfaces up (zebra sets
    their addresses from frr.conf)."""
    lines = ["link set lo up"]
    for ln in lab.links:
        if router.name in (ln.a, ln.b):
            lines.append(f"link set {ln.if_a if router.name == ln.a else ln.if_b} up")
    return lines


def config(router: Node, links: Sequence[Link], seeded: Sequence[IPInterface], prefix: str) -> str:
    """The router's frr.conf: its links and lo in OSPF area 0, `seeded` on lo."""
    lines = [
        f"! loopbackctl lab {prefix}: router {router.name}",
        "frr defaults traditional",
        f"hostname {router.name}",
        "log file /var/run/frr/frr.log",
        "ip forwarding",
        "ipv6 forwarding",
        "service integrated-vtysh-config",
        "!",
    ]
    for ln in links:
        if router.name in (ln.a, ln.b):
            mine = ln.a == router.name
            lines += [
                f"interface {ln.if_a if mine else ln.if_b}",
                f" ip address {ln.addr_a if mine else ln.addr_b}",
                " ip ospf area 0",
                " ip ospf network point-to-point",
                " ip ospf hello-interval 1",
                " ip ospf dead-interval 3",
                " ipv6 ospf6 area 0",
                " ipv6 ospf6 network point-to-point",
                " ipv6 ospf6 hello-interval 1",
                " ipv6 ospf6 dead-interval 3",
                "exit",
                "!",
            ]
    lines += ["interface lo"]
    lines += [f" {'ip' if a.version == 4 else 'ipv6'} address {a}" for a in seeded]
    lines += [" ip ospf area 0", " ipv6 ospf6 area 0", "exit", "!"]
    for proto in ("ospf", "ospf6"):
        lines += [
            f"router {proto}",
            f" {proto} router-id {router.loopback4.ip}",
            " timers throttle spf 0 50 500",
            " timers lsa min-arrival 0",
            "exit",
            "!",
        ]
    lines.append("")
    return "\n".join(lines)


def frr_ids() -> tuple[int, int]:
    """uid and gid of the frr user the daemons run as."""
    try:
        return pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid
    except KeyError:
        raise LabError("the frr user is missing: reinstall the Debian package frr") from None


def make_files(router: Node, text: str) -> None:
    """The router's private /etc/frr (frr.conf, vtysh.conf) and /var/run/frr, owned
    frr:frr; and the package's own /run/frr as a mount point when it is missing."""
    uid, gid = frr_ids()
    if not RUN_FRR.is_dir():
        RUN_FRR.mkdir(mode=0o755)
        os.chown(RUN_FRR, uid, gid)
    etc, run = router.dir / "etc", router.dir / "run"
    for d in (etc, run):
        d.mkdir(mode=0o750, exist_ok=True)
        os.chown(d, uid, gid)
    (etc / "frr.conf").write_text(text)
    (etc / "vtysh.conf").write_text("service integrated-vtysh-config\n")
    for name in ("frr.conf", "vtysh.conf"):
        os.chown(etc / name, uid, gid)
        os.chmod(etc / name, 0o640)


def prepare(lab: Lab, router: Node) -> None:
    """The router's frr.conf (with the spec's seeded lo addresses) and directories."""
    seeded = lab.spec.seeded(router) if lab.spec.seeded else ()
    make_files(router, config(router, lab.links, seeded, lab.prefix))


def binds(router: Node) -> list[Mount]:
    return [("rw", router.dir / "etc", "/etc/frr"), ("rw", router.dir / "run", "/var/run/frr")]


def daemon_pids(router: Node) -> dict[str, int | None]:
    """Each daemon's PID when it runs (from its pid file, checked against /proc)."""
    out: dict[str, int | None] = {}
    for d in DAEMONS:
        try:
            pid = int((router.dir / "run" / f"{d}.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        if pid is not None and netns.exe(pid) != f"{FRR_DIR}/{d}":
            pid = None
        out[d] = pid
    return out


def vtysh(
    router: Node, commands: Sequence[str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run `vtysh -c C1 -c C2 ...` in the router's namespaces (network and mount), as an
    SSH session on it would."""
    zebra = daemon_pids(router).get("zebra")
    if zebra is None:
        raise LabError(f"{router.name}: zebra is not running")
    argv = [netns.NSENTER, "-t", str(zebra), "-m", "-n", "-u", "--", VTYSH]
    for c in commands:
        argv += ["-c", c]
    return netns.run(argv, check=False, timeout=timeout)


def _ask(router: Node, command: str) -> Any:
    res = vtysh(router, [command])
    if res.returncode != 0:
        raise LabError(f"{router.name}: vtysh failed: {res.stdout.strip() or res.stderr.strip()}")
    return json.loads(res.stdout or "{}")


def ospf_neighbors(router: Node) -> dict[str, str]:
    """OSPF neighbors of the router: router-id → state (e.g. "Full/-")."""
    out: dict[str, str] = {}
    for rid, entries in _ask(router, "show ip ospf neighbor json").get("neighbors", {}).items():
        for e in entries if isinstance(entries, list) else [entries]:
            out[rid] = str(e.get("nbrState") or e.get("state") or "")
    return out


def ospf6_neighbors(router: Node) -> dict[str, str]:
    """OSPFv3 neighbors of the router: router-id → state ("Full" when adjacent)."""
    found = _ask(router, "show ipv6 ospf6 neighbor json").get("neighbors", [])
    return {str(e.get("neighborId")): str(e.get("state", "")) for e in found}


def _full(router: Node, links: Sequence[Link]) -> tuple[int, int]:
    """(Full adjacencies in the protocol with fewest, links) of the router."""
    expected = sum(1 for ln in links if router.name in (ln.a, ln.b))
    full = min(
        sum(1 for s in neighbors(router).values() if s.startswith("Full"))
        for neighbors in (ospf_neighbors, ospf6_neighbors)
    )
    return full, expected


def converged(lab: Lab, router: Node) -> bool:
    """The router has a Full OSPF adjacency on each of its links."""
    full, expected = _full(router, lab.links)
    return full >= expected


def problems(lab: Lab, router: Node) -> list[str]:
    """Daemons not running, or links without a Full adjacency."""
    found = [f"{d} not running" for d, pid in daemon_pids(router).items() if pid is None]
    if found:
        return found
    try:
        full, expected = _full(router, lab.links)
    except LabError as exc:
        return [str(exc)]
    return [] if full >= expected else [f"OSPF {full}/{expected} neighbors Full"]


def daemons(router: Node) -> set[int]:
    return {pid for pid in daemon_pids(router).values() if pid is not None}


def set_link(router_ns: str, ifname: str, up: bool) -> None:
    """Set one end of a link down (both ends lose carrier: the cable is cut) or up."""
    netns.run([netns.IP, "-n", router_ns, "link", "set", "dev", ifname, "up" if up else "down"])


KIND = DeviceKind(
    name="frr",
    letter="r",
    title="FRR router",
    group="lab_frr",
    needs=((ZEBRA, "frr"), (VTYSH, "frr"), (netns.NSENTER, "util-linux")),
    fabric=True,
    prepare=prepare,
    netns_lines=netns_lines,
    mounts=binds,
    pre_sshd=("frr", " ".join(DAEMONS)),
    settled=converged,
    problems=problems,
    daemons=daemons,
)

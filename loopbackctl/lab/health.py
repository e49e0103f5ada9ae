"""What runs in a lab, where, and whether it is healthy (for `lab status`).

A device is healthy when its namespace exists, its root-side veth is up, its sshd
listener runs (an IOS router has none), and its kind finds no problem (an FRR router:
zebra, ospfd and staticd running and a Full OSPF adjacency on each of its links; an IOS
router: the lab's simulator running and listening on the router's addresses). Checks
read /proc and iproute2, plus what a kind asks (one vtysh per FRR router, one request on
the simulator's control socket per IOS router): no SSH connection is opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loopbackctl.lab import netns, sshd, state
from loopbackctl.lab.build import Lab
from loopbackctl.lab.kinds import kind
from loopbackctl.lab.node import Node


@dataclass(frozen=True)
class DeviceHealth:
    name: str
    kind: str
    address: str
    netns: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class LabStatus:
    prefix: str
    kind: str
    dir: str | None
    owner: int | None
    owner_alive: bool
    slots: tuple[str, ...]
    devices: tuple[DeviceHealth, ...]

    @property
    def ok(self) -> bool:
        return self.owner_alive and all(d.ok for d in self.devices)


def _sshd(node: Node) -> str | None:
    """The problem with the device's sshd, or None."""
    pid = node.sshd_pid
    if pid is None:
        return "no sshd"
    if netns.exe(pid) != sshd.SSHD:
        return f"sshd {pid} is not running"
    return None


def device(lab: Lab, node: Node, links_up: set[str]) -> DeviceHealth:
    problems: list[str] = []
    if not os.path.exists(f"{netns.NETNS_DIR}/{node.netns}"):
        problems.append("namespace missing")
    elif node.veth not in links_up:
        problems.append(f"{node.veth} down")
    sshd_problem = _sshd(node) if kind(node.kind).start is None else None
    if sshd_problem:
        problems.append(sshd_problem)
    if not problems:
        problems += kind(node.kind).problems(lab, node)
    running = f"sshd {node.sshd_pid}" if kind(node.kind).start is None else "running"
    detail = "; ".join(problems) if problems else running
    return DeviceHealth(node.name, node.kind, node.ip4, node.netns, not problems, detail)


def check(state_dir: Path) -> LabStatus:
    """The status of the lab or bed recorded in `state_dir`."""
    lab = Lab.attach(state_dir)
    data = state.read_state(state_dir)
    owner = state.Owner.read(state_dir)
    pattern = state.link_pattern(lab.prefix)
    up = {
        str(ln["ifname"])
        for ln in netns.ip_json(["link", "show"])
        if pattern.fullmatch(str(ln.get("ifname", ""))) and "UP" in ln.get("flags", [])
    }
    slots = tuple(str(s.net4) for s in lab.slots)
    return LabStatus(
        prefix=lab.prefix,
        kind=str(data.get("kind", "bed")),
        dir=data.get("dir"),
        owner=owner.pid if owner else None,
        owner_alive=bool(owner and owner.alive()),
        slots=slots,
        devices=tuple(device(lab, n, up) for n in lab.nodes),
    )

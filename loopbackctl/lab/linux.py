"""Linux hosts: a network namespace with its own sshd and nothing else; a default route
to the lab's bridge; `lo` up (unless the spec leaves it down, a ready-made broken
loopback) with the addresses the spec seeds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopbackctl.lab.kinds import DeviceKind

if TYPE_CHECKING:
    from loopbackctl.lab.build import Lab
    from loopbackctl.lab.node import Node


def netns_lines(lab: Lab, node: Node) -> list[str]:
    lines = ["link set lo up"] if lab.spec.lo_up else []
    lines += [f"route add default via {node.gw4}", f"route add default via {node.gw6}"]
    seeded = lab.spec.seeded(node) if lab.spec.seeded else ()
    return lines + [f"addr add {a} dev lo" for a in seeded]


KIND = DeviceKind(
    name="linux",
    letter="h",
    title="Linux host",
    group="lab_linux",
    netns_lines=netns_lines,
)

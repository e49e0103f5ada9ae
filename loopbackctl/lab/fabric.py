"""The routers' fabric: which routers are linked (a ring of three or more, or a line),
each link a veth pair with one end in each router and a /31 of the lab's links slot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from loopbackctl.lab.addresses import Slot
from loopbackctl.lab.node import Link, Node

Shape = Literal["ring", "line"]


def topology(count: int, shape: Shape = "ring") -> list[tuple[int, int]]:
    """Router index pairs (0-based) to link: a line (r1-r2-...-rN), or a ring of three or
    more (a line of two)."""
    if count < 2:
        return []
    if count == 2 or shape == "line":
        return [(i, i + 1) for i in range(count - 1)]
    return [(i, (i + 1) % count) for i in range(count)]


def make_links(routers: Sequence[Node], slot: Slot | None, shape: Shape = "ring") -> list[Link]:
    """The fabric's links, interfaces named eth1, eth2, ... in each router."""
    pairs = topology(len(routers), shape)
    if not pairs:
        return []
    assert slot is not None
    used = {r.name: 0 for r in routers}
    links = []
    for k, (i, j) in enumerate(pairs):
        a, b = routers[i], routers[j]
        used[a.name] += 1
        used[b.name] += 1
        addr_a, addr_b = slot.link4(k)
        links.append(
            Link(a.name, b.name, f"eth{used[a.name]}", f"eth{used[b.name]}", addr_a, addr_b)
        )
    return links


def link_commands(links: Sequence[Link], netns_of: dict[str, str]) -> list[str]:
    """Root-namespace `ip` lines creating each link with its ends already in place."""
    return [
        f"link add {ln.if_a} netns {netns_of[ln.a]} type veth "
        f"peer name {ln.if_b} netns {netns_of[ln.b]}"
        for ln in links
    ]

"""Device kinds: what differs between a Linux host, an FRR router and a simulated IOS
router is data and a few functions on a `DeviceKind`; `build`, `health`, `inventory` and
`twin` treat every device alike otherwise. A kind's name is also the platform its devices
get in an inventory.

Adding a kind is one module that defines a `DeviceKind` and one entry in `registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopbackctl.lab.build import Lab
    from loopbackctl.lab.node import Node

Mount = tuple[str, Path, str]  # (ro|rw, source, target) bind in the device's mount namespace


def _nothing(lab: Lab, node: Node) -> None:
    return None


def _no_lines(lab: Lab, node: Node) -> list[str]:
    return []


def _no_mounts(node: Node) -> list[Mount]:
    return []


def _no_pids(node: Node) -> set[int]:
    return set()


def _available() -> str | None:
    return None


def _no_extras(lab: Lab) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class DeviceKind:
    """One kind of lab device.

    - `name`: the kind, and the platform `lab up` writes for its devices;
    - `letter`: devices are ``<prefix><letter><N>`` (namespace) and ``<letter><N>``
      (directory in the state directory);
    - `title`, `group`: how `lab up` names them, and the inventory group they go in;
    - `needs`: (program, Debian package) pairs beyond what every device needs;
    - `fabric`: joins the routers' OSPF fabric (links between these devices);
    - `prepare(lab, node)`: its files, before any namespace exists;
    - `netns_lines(lab, node)`: `ip` lines run inside its namespace after eth0 is up;
    - `mounts(node)`: its own binds; `pre_sshd`: the launcher's "start first" arguments;
    - `start(lab, nodes)`: None when each device runs its own sshd (started with `mounts`
      and `pre_sshd`); otherwise it starts the kind's devices itself, inside their
      namespaces, and returns once they answer (e.g. one simulator serving them all);
    - `settled(lab, node)`: the build waits until it is True (e.g. OSPF converged);
    - `problems(lab, node)`: what `lab status` reports as failing (empty: healthy);
    - `daemons(node)`: its own processes (besides sshd) that `stop_sshd` must spare;
    - `username`: who the lab's key logs in as; `loopback`: the interface the lab's
      inventory gives the device's loopback addresses;
    - `extras(lab)`: what else the inventory's ``connection_options.netmiko.extras`` of
      its devices need (an enable secret);
    - `unavailable()`: why this machine cannot build the kind beyond missing Debian
      packages (e.g. a Python extra that is not installed), or None;
    - `twins`: other platforms whose hosts a rehearsal twin builds as this kind.
    """

    name: str
    letter: str
    title: str
    group: str
    needs: tuple[tuple[str, str], ...] = ()
    fabric: bool = False
    prepare: Callable[[Lab, Node], None] = _nothing
    netns_lines: Callable[[Lab, Node], list[str]] = _no_lines
    mounts: Callable[[Node], list[Mount]] = _no_mounts
    pre_sshd: tuple[str, ...] = ()
    start: Callable[[Lab, Sequence[Node]], None] | None = None
    settled: Callable[[Lab, Node], bool] | None = None
    problems: Callable[[Lab, Node], list[str]] = _no_lines
    daemons: Callable[[Node], set[int]] = _no_pids
    username: str = "root"
    loopback: str = "lo"
    extras: Callable[[Lab], dict[str, str]] = _no_extras
    unavailable: Callable[[], str | None] = _available
    twins: tuple[str, ...] = ()


_KINDS: dict[str, DeviceKind] = {}


def registry() -> dict[str, DeviceKind]:
    """Every kind by name, in build order (hosts before routers)."""
    if not _KINDS:
        from loopbackctl.lab import frr, ios, linux

        _KINDS.update((k.name, k) for k in (linux.KIND, frr.KIND, ios.KIND))
    return _KINDS


def kind(name: str) -> DeviceKind:
    """The kind called `name`; KeyError naming the known ones."""
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(registry())
        raise KeyError(f"no lab device kind {name!r}; known: {known}") from None


def ordered(names: Sequence[str]) -> list[str]:
    """Kind names in registry order."""
    return [k for k in registry() if k in names]


def for_platform(platform: str) -> DeviceKind | None:
    """The kind that builds hosts of `platform` (its own name, or one of its `twins`)."""
    for k in registry().values():
        if platform == k.name or platform in k.twins:
            return k
    return None

"""Rehearsal twin (`lab up --from INVENTORY`): a lab shaped like a user's inventory.

Every host of a platform the lab can build (Linux hosts; FRR routers; Cisco IOS and
IOS-XE routers, as simulated IOS routers) becomes a lab device of the same name; its
inventory entry keeps its platform, groups and data (loopbacks included), and the user's
groups.yaml and defaults.yaml are copied as they are, so `apply` can be rehearsed on the
twin with the same templates before production. Only the connection changes: at host
level (where it wins over every group and the defaults, field by field, as Nornir
resolves it) the hostname, port and username become the lab device's, the password is
dropped, and `connection_options.netmiko` names the lab's address and key (and, for an
IOS router, the lab's enable secret: no production secret reaches the lab, not even one
from $LOOPBACKCTL_SECRET). Hosts the lab cannot build (other platforms; IOS routers
when the simulator is not installed) are left out of the twin, so nothing in it can
reach a production device. A Linux host that persists with netplan writes into its own
private /etc/netplan.

After writing, the twin is loaded with loopbackctl's own loader and every host's
resolved connection is checked to be the lab device's; otherwise the twin is refused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from loopbackctl import platforms
from loopbackctl.lab import inventory as lab_inventory
from loopbackctl.lab import sshd
from loopbackctl.lab.errors import LabError
from loopbackctl.lab.kinds import for_platform, registry
from loopbackctl.lab.node import Node

SECTIONS = ("groups", "defaults")


@dataclass(frozen=True)
class TwinPlan:
    """Which hosts of the source inventory the twin builds, and which it leaves out."""

    source: Path
    devices: tuple[tuple[str, str], ...]  # (kind, host), in inventory order
    skipped: tuple[tuple[str, str, str], ...]  # (host, platform, why)

    def names(self, kind_name: str | None = None) -> tuple[str, ...]:
        return tuple(n for k, n in self.devices if kind_name in (None, k))

    def notes(self) -> list[str]:
        """One line per reason hosts were left out."""
        reasons: dict[str, list[str]] = {}
        for name, platform, why in self.skipped:
            reasons.setdefault(why, []).append(f"{name} ({platform})")
        return [f"left out of the twin ({why}): {', '.join(n)}" for why, n in reasons.items()]


def _platform_name(name: str) -> str:
    found = platforms.lookup(name)
    return found.name if found is not None else name


def plan(source: str) -> TwinPlan:
    """Load and validate the source inventory (InventoryError: exit 2, as `validate`)."""
    from loopbackctl import inventory

    inv, _warnings = inventory.load(source)
    devices: list[tuple[str, str]] = []
    skipped: list[tuple[str, str, str]] = []
    cannot: dict[str, str | None] = {}
    for host in inv.hosts.values():
        k = for_platform(_platform_name(host.platform))
        if k is None:
            skipped.append((host.name, host.platform, "the lab cannot build these platforms"))
            continue
        if k.name not in cannot:
            cannot[k.name] = k.unavailable()
        why = cannot[k.name]
        if why is None:
            devices.append((k.name, host.name))
        else:
            skipped.append((host.name, host.platform, why))
    # Hosts loopbackctl does not manage (another vendor, no platform) are not twinned.
    skipped += [(u.name, u.platform or "no platform", "loopbackctl does not manage them")
                for u in inv.unmanaged.values()]  # fmt: skip
    tp = TwinPlan(Path(source), tuple(devices), tuple(skipped))
    if not devices:
        kinds = ", ".join(registry())
        why = "".join(f"; {note}" for note in tp.notes())
        raise LabError(f"{source}: no host of a platform the lab can build ({kinds}) to twin{why}")
    return tp


def _sources(source: Path) -> tuple[dict[str, Any], dict[str, Path | Any]]:
    """(raw hosts mapping, {section: file to copy, or the section's data})."""
    if source.is_dir():
        found = {p.stem: p for p in sorted(source.iterdir()) if p.suffix in (".yaml", ".yml")}
        hosts = yaml.safe_load(found["hosts"].read_text()) or {}
        return hosts, {s: found[s] for s in SECTIONS if s in found}
    doc = yaml.safe_load(source.read_text()) or {}
    return doc.get("hosts") or {}, {s: doc[s] for s in SECTIONS if doc.get(s) is not None}


def _connection(node: Node, key_file: Path, extras: Mapping[str, str]) -> dict[str, Any]:
    options = {"key_file": str(key_file), "allow_agent": False, **extras}
    return {"hostname": node.ip4, "port": node.port, "username": node.username,
            "extras": options}  # fmt: skip


def host_entry(
    raw: Mapping[str, Any] | None,
    node: Node,
    key_file: Path,
    extras: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The user's entry with the lab device's connection (and `extras`, such as the lab's
    enable secret) in place of theirs."""
    entry = dict(raw or {})
    entry.pop("password", None)
    entry.update(hostname=node.ip4, port=node.port, username=node.username)
    entry["connection_options"] = {"netmiko": _connection(node, key_file, extras or {})}
    data = dict(entry.get("data") or {})
    if node.kind == "linux":
        # Netplan files go to the device's private /etc/netplan (or its own directory
        # where this machine has none), never to a path of this machine.
        private = os.path.isdir(sshd.NETPLAN_DIR)
        data["netplan_dir"] = sshd.NETPLAN_DIR if private else str(node.netplan_dir)
    entry["data"] = data
    return entry


def write(
    tp: TwinPlan,
    nodes: Sequence[Node],
    target: Path,
    key_file: Path,
    extras: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Path]:
    """The twin inventory in `target` (`extras` by kind: see `DeviceKind.extras`);
    returns the files written."""
    raw_hosts, sections = _sources(tp.source)
    by_name = {n.name: n for n in nodes}
    extras = extras or {}
    hosts = {name: host_entry(raw_hosts.get(name), by_name[name], key_file,
                              extras.get(by_name[name].kind))
             for name in tp.names()}  # fmt: skip
    target.mkdir(parents=True, exist_ok=True)
    written = [lab_inventory.write_file(target / "hosts.yaml", hosts)]
    for section, src in sections.items():
        out = target / f"{section}.yaml"
        if isinstance(src, Path):
            shutil.copyfile(src, out)
        else:
            lab_inventory.write_file(out, src)
        written.append(out)
    check(target, by_name, key_file, extras)
    return written


def check(
    target: Path,
    nodes: Mapping[str, Node],
    key_file: Path,
    extras: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """LabError unless every host of the twin resolves to its lab device (address, port,
    user, key, and the lab's extras such as its enable secret)."""
    from loopbackctl import inventory

    inv, _warnings = inventory.load(str(target))
    if set(inv.hosts) != set(nodes):
        raise LabError(f"twin inventory {target} does not hold exactly the lab's devices")
    for name, host in inv.hosts.items():
        params = inventory.connection_parameters(host, "netmiko")
        node = nodes[name]
        want = (node.ip4, node.port, node.username, str(key_file))
        got = (params["hostname"], params["port"] or 22, params["username"],
               params["extras"].get("key_file"))  # fmt: skip
        if got != want:
            raise LabError(f"twin host {name} would connect to {got[0]}:{got[1]}: refused")
        for key, value in (extras or {}).get(node.kind, {}).items():
            if params["extras"].get(key) != value:
                raise LabError(f"twin host {name} would not use the lab's {key}: refused")

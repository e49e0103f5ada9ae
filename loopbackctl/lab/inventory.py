"""A lab's inventory, in Nornir's SimpleInventory layout, and its known_hosts.

`lab up` writes one host per device, each with its lab loopback addresses
(198.18.X.N/32 and 2001:db8:feXX::N/128, see `addresses`) under `data.loopbacks` (on `lo`;
on an IOS router, `Loopback0`), and starts the devices with only some of them (`seeded`):
the first `apply` has work to do on some hosts and none on others. Routers (`platform:
frr`) are written only when this loopbackctl has a platform of that name, so the
inventory always validates. A file that holds a secret (the IOS routers' enable secret)
is readable by its owner only.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from loopbackctl.lab.kinds import kind, ordered
from loopbackctl.lab.node import Node

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
SECRET_KEYS = frozenset({"secret", "password"})


def seeded(node: Node) -> list[IPInterface]:
    """The lab loopbacks a device of `lab up` starts with: every third device has both,
    the next one only IPv4, the next none (so apply adds some and leaves others alone)."""
    both: list[IPInterface] = [node.loopback4, node.loopback6]
    return (both, both[:1], [])[(node.index - 1) % 3]


def loopbacks(node: Node) -> list[dict[str, Any]]:
    """The device's intended loopbacks: its two lab loopback addresses on its kind's
    loopback interface."""
    addresses = [str(node.loopback4), str(node.loopback6)]
    return [{"name": kind(node.kind).loopback, "addresses": addresses}]


def host_entry(
    node: Node,
    group: str,
    data: Mapping[str, Any] | None = None,
    *,
    platform: str | None = None,
    ipv6: bool = False,
    username: str | None = None,
) -> dict[str, Any]:
    """One hosts.yaml entry: the device's management address, its group, its data."""
    entry: dict[str, Any] = {"hostname": node.ip6 if ipv6 else node.ip4, "port": node.port}
    if username is not None:
        entry["username"] = username
    if platform is not None:
        entry["platform"] = platform
    entry["groups"] = [group]
    if data:
        entry["data"] = dict(data)
    return entry


def group_entry(
    key_file: Path,
    *,
    platform: str | None = None,
    extras: Mapping[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A group carrying the lab's key and `extras` (and `platform`, `username`, ... when
    given)."""
    group: dict[str, Any] = {}
    if platform is not None:
        group["platform"] = platform
    group.update(fields)
    netmiko = {"extras": {"key_file": str(key_file), **(extras or {})}}
    group["connection_options"] = {"netmiko": netmiko}
    return group


def lab_documents(
    nodes: Sequence[Node],
    key_file: Path,
    platforms: Sequence[str],
    extras: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(hosts, groups) of `lab up`: every device whose kind is in `platforms` (a kind's
    name is its platform), one group per kind with its login user and `extras[kind]`."""
    hosts = {
        n.name: host_entry(n, kind(n.kind).group, {"loopbacks": loopbacks(n)})
        for n in nodes
        if n.kind in platforms
    }
    present = ordered([n.kind for n in nodes if n.kind in platforms])
    groups = {
        kind(k).group: group_entry(key_file, platform=k, username=kind(k).username,
                                   extras=(extras or {}).get(k))
        for k in present
    }  # fmt: skip
    return hosts, groups


def dump(data: Any) -> str:
    """YAML as the inventory files are written: keys in order, block style."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def write_file(path: Path, data: Any) -> Path:
    """One inventory file, created readable by its owner only when it holds a secret."""
    mode = 0o600 if holds_secret(data) else 0o644
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), mode)  # whatever the umask
        f.write(dump(data))
    return path


def holds_secret(data: Any) -> bool:
    """A `secret` or `password` key anywhere in `data`."""
    if isinstance(data, Mapping):
        return any(k in SECRET_KEYS or holds_secret(v) for k, v in data.items())
    if isinstance(data, list):
        return any(holds_secret(v) for v in data)
    return False


def write(
    path: Path,
    hosts: Mapping[str, Any],
    groups: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
) -> list[Path]:
    """hosts.yaml, groups.yaml (and defaults.yaml) in `path`; returns the files written."""
    path.mkdir(parents=True, exist_ok=True)
    written = [write_file(path / "hosts.yaml", dict(hosts))]
    written.append(write_file(path / "groups.yaml", dict(groups)))
    if defaults is not None:
        written.append(write_file(path / "defaults.yaml", dict(defaults)))
    return written


def known_hosts_lines(nodes: Sequence[Node], host_key_pub: Path) -> list[str]:
    """known_hosts lines for every device address (all share the lab's host key)."""
    key = " ".join(host_key_pub.read_text().split()[:2])
    return [f"{addr} {key}" for n in nodes for addr in (n.ip4, n.ip6)]

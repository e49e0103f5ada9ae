"""The Linux test bed: `loopbackctl.lab` with the test suite's names and defaults.

One implementation builds both `loopbackctl lab up` and the beds of the tests (see
loopbackctl/lab/: names, owners and reaping in `state`, the address plan in `addresses`,
hosts with their own sshd and lean shells in `sshd`, FRR routers in `frr`). A bed is a
Lab of kind "bed" whose owner is the test process; `LinuxBed(n, ...)` keeps the
constructor the tests have always used, and `write_inventory` writes the bed inventory
(group ``bed``). Beds and labs share one lock, one state directory
(``/run/loopbackctl``) and one address plan, so they never collide.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from loopbackctl.lab import inventory, prereq, state, teardown
from loopbackctl.lab import netns as _netns
from loopbackctl.lab.build import MAX_NODES, Lab, LabSpec
from loopbackctl.lab.errors import LabError as BedError
from loopbackctl.lab.node import Node as BedHost
from loopbackctl.lab.sshd import Login

__all__ = [
    "BASE_DIR",
    "IP",
    "MAX_HOSTS",
    "BedError",
    "BedHost",
    "LinuxBed",
    "check_prerequisites",
    "reap_stale_beds",
    "sigterm_to_keyboard_interrupt",
]

BASE_DIR = state.BASE_DIR
IP = _netns.IP
MAX_HOSTS = MAX_NODES
sigterm_to_keyboard_interrupt = _netns.sigterm_to_keyboard_interrupt
_pids_in_netns = _netns.pids_in_netns


def check_prerequisites(*, sudo: bool = False) -> list[str]:
    """What stops a bed from being built here (empty list: nothing); `sudo`: a bed with
    a sudo user (needs sudo and openssl too)."""
    return [
        (f"the Linux bed {m}; run the tests as root" if m.path is None else str(m))
        for m in prereq.missing(sudo=sudo)
    ]


def reap_stale_beds(base_dir: Path = BASE_DIR) -> list[str]:
    """Tear down beds and labs whose owner died; returns their prefixes."""
    return teardown.reap(base_dir)


class LinuxBed(Lab):
    """N Linux hosts h1..hN in network namespaces, each with its own sshd."""

    def __init__(
        self,
        n: int = 3,
        *,
        lean: bool = True,
        lo_up: bool = True,
        password: str | None = None,
        sudo_user: str | None = None,
        sudo_password: str | None = None,
        no_sshd: Collection[str | int] = (),
        base_dir: Path = BASE_DIR,
        start_timeout: float = 20.0,
    ) -> None:
        spec = LabSpec.numbered(
            n,
            0,
            lean=lean,
            lo_up=lo_up,
            login=Login(password, sudo_user, sudo_password),
            no_sshd=frozenset(f"h{x}" if isinstance(x, int) else x for x in no_sshd),
        )
        super().__init__(spec, base_dir=base_dir, start_timeout=start_timeout)
        self.password = password
        self.sudo_user = sudo_user
        self.sudo_password = sudo_password

    def write_inventory(
        self,
        path: Path,
        loopbacks: Mapping[str, list[dict[str, Any]]] | None = None,
        extra_data: Mapping[str, Any] | None = None,
        *,
        host_data: Mapping[str, Mapping[str, Any]] | None = None,
        hosts: Iterable[str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        ipv6: bool = False,
        auth: Literal["key", "password"] = "key",
        username: str | None = None,
    ) -> Path:
        """Write a Nornir SimpleInventory (hosts.yaml, groups.yaml[, defaults.yaml]).

        One entry per bed host (or per name in `hosts`): hostname (IPv4, or IPv6 with
        `ipv6`), port, username (root, or `username`), platform linux, groups [bed], and
        data: ``loopbacks[name]`` if given, then `extra_data`, then ``host_data[name]``.
        groups.yaml: ``bed`` with the bed's key_file as a netmiko extra, and with
        auth="password" the password (root's, or the sudo user's when `username` is it).
        """
        path = Path(path)
        names = list(hosts) if hosts is not None else [h.name for h in self.hosts]
        unknown = (set(names) | set(loopbacks or {}) | set(host_data or {})) - {
            h.name for h in self.hosts
        }
        if unknown:
            raise KeyError(f"not hosts of this bed: {sorted(unknown)}")
        doc = {}
        for name in names:
            data: dict[str, Any] = {}
            if loopbacks is not None and name in loopbacks:
                data["loopbacks"] = loopbacks[name]
            data.update(extra_data or {})
            data.update((host_data or {}).get(name, {}))
            node = self[name]
            doc[name] = inventory.host_entry(
                node, "bed", data, platform="linux", ipv6=ipv6,
                username=username or node.username,
            )  # fmt: skip
        fields: dict[str, Any] = {}
        if auth == "password":
            as_sudo_user = username is not None and username == self.sudo_user
            password = self.sudo_password if as_sudo_user else self.password
            if password is None:
                raise BedError("auth='password' needs a bed started with password=...")
            fields["password"] = password
        group = inventory.group_entry(self.key_file, **fields)
        inventory.write(path, doc, {"bed": group}, defaults)
        return path

"""The devices of a lab: `Node` (a Linux host, an FRR router or a simulated IOS router)
and `Link` (FRR router to FRR router). Plain records, saved in state.json so `lab down`
and `lab status` can rebuild them in another process."""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopbackctl.lab.addresses import Slot


@dataclass
class Node:
    """One device: a network namespace with its own sshd (and, for an FRR router, FRR
    daemons; an IOS router is served by the lab's simulator instead of an sshd).

    `kind` names its `kinds.DeviceKind`; `index` counts within its kind (h1, h2, ... /
    r1, r2, ... / i1, i2, ...: the netns suffix); `number` counts across the lab (the root-side veth
    ``<prefix>v<number>``); `host` is the device's number inside its management slot.
    Files live in `dir`.
    """

    kind: str
    index: int
    number: int
    name: str
    netns: str
    veth: str
    bridge: str
    slot: Slot
    host: int
    dir: Path
    key_file: Path
    known_hosts: Path
    port: int = 22
    username: str = "root"
    password: str | None = field(default=None, repr=False)
    sshd_pid: int | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def hostname(self) -> str:
        """The UTS hostname seen inside the device's sessions (the prompt shows it)."""
        return self.name

    @property
    def ip4(self) -> str:
        return str(self.slot.host4(self.host))

    @property
    def ip6(self) -> str:
        return str(self.slot.host6(self.host))

    @property
    def mac(self) -> str:
        return self.slot.mac(self.host)

    @property
    def gw4(self) -> str:
        return str(self.slot.gw4)

    @property
    def gw6(self) -> str:
        return str(self.slot.gw6)

    @property
    def loopback4(self) -> ipaddress.IPv4Interface:
        """The device's lab loopback address (IPv4, /32)."""
        return self.slot.loopback4(self.host)

    @property
    def loopback6(self) -> ipaddress.IPv6Interface:
        """The device's lab loopback address (IPv6, /128)."""
        return self.slot.loopback6(self.host)

    @property
    def config_file(self) -> Path:
        return self.dir / "sshd_config"

    @property
    def pid_file(self) -> Path:
        return self.dir / "sshd.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "sshd.log"

    @property
    def start_log(self) -> Path:
        return self.dir / "start.log"

    @property
    def lock_dir(self) -> Path:
        """Private directory bind-mounted over /run/lock in the device's mount namespace:
        each device has its own, as each machine has (apply's lock lives there)."""
        return self.dir / "lock"

    @property
    def host_dir(self) -> Path:
        """Private directory bind-mounted over loopbackctl's directory on a managed host
        (sshd.HOST_DIR) in the device's mount namespace."""
        return self.dir / "host-run"

    @property
    def netplan_dir(self) -> Path:
        """Private directory bind-mounted over /etc/netplan in the device's mount namespace."""
        return self.dir / "netplan"

    def netmiko_params(self, *, ipv6: bool = False) -> dict[str, Any]:
        """Keyword arguments for `netmiko.ConnectHandler` (key auth as root)."""
        return {
            "device_type": "linux",
            "host": self.ip6 if ipv6 else self.ip4,
            "port": self.port,
            "username": self.username,
            "key_file": str(self.key_file),
            "use_keys": True,
            "allow_agent": False,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index": self.index,
            "number": self.number,
            "name": self.name,
            "netns": self.netns,
            "veth": self.veth,
            "bridge": self.bridge,
            "slot": self.slot.index,
            "host": self.host,
            "dir": str(self.dir),
            "username": self.username,
            "sshd_pid": self.sshd_pid,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], key_file: Path, known_hosts: Path) -> Node:
        return cls(
            kind=data["kind"],
            index=int(data["index"]),
            number=int(data["number"]),
            name=str(data["name"]),
            netns=str(data["netns"]),
            veth=str(data["veth"]),
            bridge=str(data["bridge"]),
            slot=Slot(int(data["slot"])),
            host=int(data["host"]),
            dir=Path(data["dir"]),
            key_file=key_file,
            known_hosts=known_hosts,
            username=str(data.get("username", "root")),
            sshd_pid=data.get("sshd_pid"),
        )


@dataclass(frozen=True)
class Link:
    """A point-to-point link between two routers: a veth pair with one end in each."""

    a: str
    b: str
    if_a: str
    if_b: str
    addr_a: ipaddress.IPv4Interface
    addr_b: ipaddress.IPv4Interface

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "if_a": self.if_a,
            "if_b": self.if_b,
            "addr_a": str(self.addr_a),
            "addr_b": str(self.addr_b),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Link:
        return cls(
            a=str(data["a"]),
            b=str(data["b"]),
            if_a=str(data["if_a"]),
            if_b=str(data["if_b"]),
            addr_a=ipaddress.IPv4Interface(data["addr_a"]),
            addr_b=ipaddress.IPv4Interface(data["addr_b"]),
        )

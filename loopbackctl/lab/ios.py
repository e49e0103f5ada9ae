"""Cisco IOS routers: simulated by the project's IOS simulator (`loopbackctl.lab.iossim`,
fake-switches extended), one process serving every IOS router of a lab.

A router is a `Node` of kind "cisco_ios": a network namespace with its veth on the lab's
bridge, like every device, but no sshd. The simulator process is started inside the
first router's namespace (so a teardown finds it among the lab's processes, as it finds
every sshd) and enters each router's namespace only to open that router's listening
sockets: every router answers SSH on port 22 of its own management addresses, presents
the lab's host key (so the lab's known_hosts holds it) and accepts the lab's key for its
user (``admin``) as well as a password. Logins land in user EXEC; ``enable`` asks for
the router's enable secret. A lab's routers share one password and one enable secret,
random per lab, kept in the state directory (root only); `lab up` writes the secret into
its inventory (`extras`), never on a terminal.

At boot a router has GigabitEthernet0/0 on its management addresses, GigabitEthernet0/1
unused, the lo addresses the lab seeds as Loopback0, and (as a lab managed the way
operators run real routers) a configuration archive, ``archive`` / `` path
flash:archive``, which IOS's confirm-or-revert (``configure terminal revert timer``)
needs; `IosOptions.archive` False boots one without it. The simulator needs Python
packages that loopbackctl does not install by default (`unavailable`, `INSTALL`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopbackctl.lab import netns
from loopbackctl.lab.errors import LabError
from loopbackctl.lab.iossim import RUNNER
from loopbackctl.lab.kinds import DeviceKind

if TYPE_CHECKING:
    from loopbackctl.lab.build import Lab
    from loopbackctl.lab.node import Node

NAME = "cisco_ios"
USERNAME = "admin"
LOOPBACK = "Loopback0"
FAKE_SWITCHES = "1.5.0"
#: What the simulator imports (the `lab` extra, and fake-switches itself).
MODULES = ("fake_switches", "twisted.conch", "netaddr", "lxml", "tftpy")
#: fake-switches 1.5.0 pins a Twisted (<17) that does not build on Python 3.11: it is
#: installed without its dependencies, which the `lab` extra brings instead.
INSTALL = "pip install 'loopbackctl[lab]' && pip install --no-deps fake-switches==1.5.0"
SIM_DIR = "iossim"
#: The configuration archive every lab router boots with (unless IosOptions.archive off).
ARCHIVE_CONFIG = ("archive", " path flash:archive")

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class ControlError(LabError):
    """The simulator refused a control request."""


@dataclass(frozen=True)
class IosOptions:
    """How one simulated router differs from the lab's defaults (tests use these).

    `password`/`secret` None: the lab's; `base_config` None: the management ports;
    `startup_config` follows the seeded Loopback0; `faults`: see
    `loopbackctl.lab.iossim.core.Fault`; `save_prompts`: ``write memory`` asks
    ``[confirm]``; `ipv6` False: an image without IPv6; `archive` False: no
    configuration archive (IOS then refuses ``configure terminal revert timer``);
    `mirror_loopback`: the router also answers SSH on its Loopback0 addresses, which the
    simulator puts on the kernel's lo of the router's namespace while Loopback0 holds
    them (a router managed through its Loopback0; route them with
    `Lab.add_route_to_loopbacks`).
    """

    username: str = USERNAME
    password: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    startup_config: tuple[str, ...] = ()
    base_config: tuple[str, ...] | None = None
    ports: tuple[str, ...] | None = None
    faults: tuple[Mapping[str, Any], ...] = ()
    save_prompts: bool = False
    ipv6: bool = True
    archive: bool = True
    mirror_loopback: bool = False


def unavailable() -> str | None:
    """Why the simulator cannot run with this interpreter, and the command that installs
    it (None: it can run)."""
    why = None
    for module in MODULES:
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        if found is None:
            why = f"the IOS simulator is not installed (no Python module {module})"
            break
    if why is None:
        try:
            version = importlib.metadata.version("fake-switches")
        except importlib.metadata.PackageNotFoundError:
            version = FAKE_SWITCHES  # a source checkout on the path: trust it
        if version != FAKE_SWITCHES:
            why = f"the IOS simulator needs fake-switches {FAKE_SWITCHES}, not {version}"
    return None if why is None else f"{why}: {INSTALL}"


# ----------------------------------------------------------------------- configuration


def management_config(node: Node, ipv6: bool = True) -> list[str]:
    """GigabitEthernet0/0 on the router's management addresses, GigabitEthernet0/1 shut."""
    lines = [
        "interface GigabitEthernet0/0",
        " description management",
        f" ip address {node.ip4} 255.255.255.0",
    ]
    if ipv6:
        lines.append(f" ipv6 address {node.ip6}/64")
    return [*lines, " no shutdown", "interface GigabitEthernet0/1", " no ip address", " shutdown"]


def loopback_config(addresses: Sequence[IPInterface], name: str = LOOPBACK) -> list[str]:
    """`name` holding `addresses` (the first IPv4 primary), or nothing for no address."""
    if not addresses:
        return []
    lines = [f"interface {name}"]
    v4 = [a for a in addresses if a.version == 4]
    for i, a in enumerate(v4):
        mask = ipaddress.IPv4Interface(a).netmask
        lines.append(f" ip address {a.ip} {mask}{' secondary' if i else ''}")
    lines += [f" ipv6 address {a}" for a in addresses if a.version == 6]
    return lines


def _options(lab: Lab, node: Node) -> IosOptions:
    return lab.spec.ios_options.get(node.name) or IosOptions()


def device_spec(lab: Lab, node: Node, authorized: str) -> dict[str, Any]:
    """The runner's entry for one router (the lab's password and secret unless set)."""
    opts = _options(lab, node)
    seeded = lab.spec.seeded(node) if lab.spec.seeded else ()
    base = opts.base_config if opts.base_config is not None else management_config(node, opts.ipv6)
    entry: dict[str, Any] = {
        "name": node.name,
        "netns": node.netns,
        "addresses": [node.ip4, node.ip6],
        "port": node.port,
        "username": opts.username,
        "authorized_keys": [authorized],
        "base_config": [*base, *(ARCHIVE_CONFIG if opts.archive else ())],
        "startup_config": [*loopback_config(seeded), *opts.startup_config],
        "faults": [dict(f) for f in opts.faults],
        "save_prompts": opts.save_prompts,
        "ipv6": opts.ipv6,
    }
    if opts.mirror_loopback:
        entry["mirror_loopback"] = LOOPBACK
    if opts.ports is not None:
        entry["ports"] = list(opts.ports)
    for key in ("password", "secret"):
        if getattr(opts, key) is not None:
            entry[key] = getattr(opts, key)
    return entry


# ----------------------------------------------------------------------- the simulator


def sim_dir(lab: Lab) -> Path:
    return lab.state_dir / SIM_DIR


def start(lab: Lab, nodes: Sequence[Node]) -> None:
    """Start one simulator for `nodes` inside the first one's namespace; return once
    every router listens (LabError with the simulator's log otherwise)."""
    if not nodes:
        return
    d = sim_dir(lab)
    d.mkdir(mode=0o700, exist_ok=True)
    authorized = lab.key_file.with_suffix(".pub").read_text().strip()
    spec = {
        "control": str(d / "control.sock"),
        "host_key": str(lab.files.host_key),
        "defaults": {
            "username": USERNAME,
            "password": secrets.token_urlsafe(12),
            "secret": secrets.token_urlsafe(12),
        },
        "devices": [device_spec(lab, n, authorized) for n in nodes],
    }
    fd = os.open(d / "spec.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f)
    ready = d / "ready.json"
    argv = [
        netns.NSENTER, f"--net={netns.NETNS_DIR}/{nodes[0].netns}", "--",
        sys.executable, "-m", RUNNER, "--spec", str(d / "spec.json"),
        "--ready-file", str(ready), "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    with open(d / "runner.log", "ab") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    lab.children.append(proc)
    lab.extra["ios"] = {"pid": proc.pid, "start": netns.proc_start_time(proc.pid), "dir": str(d)}
    lab.save()
    _wait_ready(proc, ready, d / "runner.log", max(lab.start_timeout, 60.0))


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            state = f"exited with {proc.returncode}" if proc.poll() is not None else "timed out"
            raise LabError(f"the IOS simulator {state} before listening: " + " | ".join(tail))
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def credentials(lab: Lab) -> dict[str, str]:
    """The lab's defaults for its routers: username, password and enable secret."""
    try:
        spec = json.loads((sim_dir(lab) / "spec.json").read_text())
    except (OSError, ValueError):
        raise LabError(f"lab {lab.prefix}: the IOS simulator's spec is missing") from None
    return {k: str(v) for k, v in spec.get("defaults", {}).items()}


def extras(lab: Lab) -> dict[str, str]:
    """The inventory's netmiko extras for the lab's routers: the enable secret."""
    return {"secret": credentials(lab)["secret"]}


class Simulator:
    """The running simulator of a lab: its process and its control channel (a Unix
    socket in the state directory, root only)."""

    def __init__(self, lab: Lab) -> None:
        record = lab.extra.get("ios")
        if not isinstance(record, dict):
            raise LabError(f"lab {lab.prefix} has no IOS simulator")
        self.lab = lab
        self.pid = int(record["pid"])
        self.start_time: int | None = record.get("start")
        self.dir = Path(str(record["dir"]))

    @property
    def control_path(self) -> Path:
        return self.dir / "control.sock"

    @property
    def alive(self) -> bool:
        """The simulator process runs (same PID and start time as started)."""
        now = netns.proc_start_time(self.pid)
        return now is not None and (self.start_time is None or now == self.start_time)

    def control(self, op: str, timeout: float = 10.0, **fields: Any) -> Any:
        """Send one control request; its result, or ControlError / LabError."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(str(self.control_path))
                sock.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
                data = b""
                while not data.endswith(b"\n"):
                    chunk = sock.recv(1 << 16)
                    if not chunk:
                        raise LabError(f"the IOS simulator closed its control channel ({op})")
                    data += chunk
        except OSError as exc:
            raise LabError(f"the IOS simulator does not answer ({op}): {exc}") from None
        answer = json.loads(data)
        if not answer.get("ok"):
            raise ControlError(str(answer.get("error", "unknown error")))
        return answer.get("result")

    def state(self, name: str) -> dict[str, Any]:
        """Everything about a router: interfaces, running/startup config, saved, command
        log, faults, sessions."""
        result: dict[str, Any] = self.control("state", device=name)
        return result

    def interface(self, name: str, interface: str) -> dict[str, Any] | None:
        """One interface of ``state(name)``, or None when it does not exist."""
        for entry in self.state(name)["interfaces"]:
            if entry["name"] == interface:
                return dict(entry)
        return None

    def listening(self, name: str) -> list[tuple[str, int]]:
        """(address, port) where the router listens."""
        return [(str(a), int(p)) for a, p in self.control("listening", device=name)]

    def add_fault(self, name: str, **fault: Any) -> int:
        """Install a fault (see `loopbackctl.lab.iossim.core.Fault`); returns its id."""
        spec = {k: v for k, v in fault.items() if v is not None}
        return int(self.control("add_fault", device=name, fault=spec)["id"])

    def clear_faults(self, name: str) -> None:
        self.control("clear_faults", device=name)

    def apply(self, name: str, lines: Sequence[str]) -> str:
        """Run configuration lines on the router without SSH; the CLI transcript."""
        return str(self.control("apply", device=name, lines=list(lines))["output"])

    def run(self, name: str, command: str) -> str:
        """Run one privileged EXEC command (e.g. a show) without SSH; its output."""
        return str(self.control("run", device=name, command=command)["output"])

    def switch(self, name: str, **switches: bool) -> dict[str, bool]:
        """Turn ``save_prompts`` or ``ipv6`` on or off until the router's reset."""
        return dict(self.control("switch", device=name, **switches))

    def drop_sessions(self, name: str) -> int:
        """Cut every open SSH session of the router; how many there were."""
        return int(self.control("drop_sessions", device=name)["dropped"])

    def reset(self, name: str) -> None:
        """Back to the router's boot state (sessions cut, log and faults cleared)."""
        self.control("reset", device=name)

    def kill(self) -> None:
        """SIGKILL the simulator now (every router vanishes at once, like a crash)."""
        children = [p for p in self.lab.children if p.pid == self.pid]
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
        for p in children:
            p.wait(timeout=10)

    def log_text(self) -> str:
        path = self.dir / "runner.log"
        return path.read_text(errors="replace") if path.exists() else ""


# --------------------------------------------------------------------------- health


def problems(lab: Lab, node: Node) -> list[str]:
    """The simulator not running, or not listening for this router."""
    try:
        sim = Simulator(lab)
    except LabError as exc:
        return [str(exc)]
    if not sim.alive:
        return [f"IOS simulator {sim.pid} is not running"]
    try:
        where = {a for a, _ in sim.listening(node.name)}
    except LabError as exc:
        return [str(exc)]
    missing = {node.ip4, node.ip6} - where
    return [f"not listening on {', '.join(sorted(missing))}"] if missing else []


def daemons(node: Node) -> set[int]:
    """Nothing of the router runs in its namespace but (in the first one) the simulator,
    which `stop_sshd` must spare: found by its command line."""
    pids = netns.pids_in_netns([node.netns]).get(node.netns, [])
    return {p for p in pids if RUNNER in netns.cmdline(p)}


KIND = DeviceKind(
    name=NAME,
    letter="i",
    title="IOS router",
    group="lab_ios",
    needs=((netns.NSENTER, "util-linux"),),
    start=start,
    problems=problems,
    daemons=daemons,
    username=USERNAME,
    loopback=LOOPBACK,
    extras=extras,
    unavailable=unavailable,
    twins=("cisco_xe",),
)

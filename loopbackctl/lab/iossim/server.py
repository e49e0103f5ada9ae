"""Runner: many simulated routers and a control socket in one Twisted reactor.

``python -m loopbackctl.lab.iossim --spec SPEC.json [--ready-file PATH] [--parent-pid PID]``

SPEC::

    {"control": "/run/loopbackctl/lb1a2b3c/iossim/control.sock",
     "host_key": "/run/loopbackctl/lb1a2b3c/ssh_host_ed25519_key",
     "defaults": {"username": "admin", "password": "...", "secret": "..."},
     "devices": [{"name": "r1", "netns": "lb1a2b3ci1",
                  "addresses": ["198.19.7.1", "2001:db8:ff07::1"], "port": 22,
                  "username": "admin", "password": "...", "secret": "...",
                  "authorized_keys": ["ssh-ed25519 AAAA..."],
                  "startup_config": ["interface Loopback0", ...],
                  "ports": ["GigabitEthernet0/0", ...], "base_config": [...],
                  "faults": [{"action": "refuse", "match": "..."}],
                  "save_prompts": false, "ipv6": true,
                  "mirror_loopback": "Loopback0"}]}

Where a router listens: with a ``netns``, on its ``addresses`` inside that network
namespace (the runner enters the namespace only to open the listening sockets; every
address must lie in 198.18.0.0/15 or 2001:db8::/32); without one, on 127.0.0.1 of the
runner's own namespace only (port 0 picks a free port). Each bound address is checked
after binding. With ``mirror_loopback`` (in a namespace only) the router also answers SSH
on that loopback's addresses (those in the lab's ranges): the runner puts them on the
kernel's lo of the namespace while the loopback holds them and takes them off when it
no longer does (`mirror`), so a router can be managed through its Loopback0 and a change
to it cuts the session as on a real router. ``defaults`` fill what a device leaves out
(username ``admin``, password ``admin`` and secret ``enable`` otherwise); ``host_key``
is an OpenSSH private key file (default: fake-switches' fixed RSA key).

The control socket is a Unix socket (mode 0600; default: ``control.sock`` beside the
spec). Once every router listens, the runner writes READY JSON (pid, control, per-device
name, namespace, addresses, port, username) to the ready file (atomically) and prints
``IOSSIM-READY <json>`` on stdout. It stops on SIGTERM/SIGINT, on the control op
``stop``, and when its parent process (given by ``--parent-pid``) goes away.

Control protocol (one JSON object per line each way): request ``{"op": ..., "device":
NAME, ...}``, answer ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``.
Ops: ``ping``, ``devices``, ``listening`` (where ``device`` listens now), ``state``,
``add_fault`` (``fault``: see :class:`loopbackctl.lab.iossim.core.Fault`),
``clear_faults``, ``apply`` (``lines``: configuration lines run without SSH; returns the
CLI output), ``run`` (``command``: one privileged EXEC command without SSH; returns its
output), ``switch`` (``save_prompts``: ``write memory`` asks ``[confirm]``; ``ipv6``:
false makes every IPv6 command invalid, as on an image without IPv6), ``drop_sessions``,
``reset`` (back to the spec's state), ``stop``.

Time: ``$IOSSIM_MINUTE_SECONDS`` (read by this process only; default 60) is how many
seconds one IOS minute lasts for the routers' timers (``configure terminal revert timer``,
see :mod:`.archive`), so tests need not wait minutes; ``state`` reports it as
``minute_seconds``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ipaddress
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import DEFAULT_BASE_CONFIG, DEFAULT_PORTS, RUNNER
from .core import IosRouterCore, RouterSpec, make_router

LOCALHOST = "127.0.0.1"
MINUTE_ENV = "IOSSIM_MINUTE_SECONDS"
READY_PREFIX = "IOSSIM-READY "
NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
LAB_SPACE = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32"))
FALLBACK = {"username": "admin", "password": "admin", "secret": "enable"}
DEVICE_KEYS = frozenset(
    {
        "name",
        "netns",
        "addresses",
        "port",
        "username",
        "password",
        "secret",
        "authorized_keys",
        "ports",
        "base_config",
        "startup_config",
        "faults",
        "save_prompts",
        "ipv6",
        "mirror_loopback",
    }
)
IP = shutil.which("ip") or "/usr/sbin/ip"
#: How often the addresses of a mirrored loopback are brought to the kernel (seconds).
MIRROR_EVERY = 0.1

log = logging.getLogger(__name__)


class SpecError(ValueError):
    """The spec file cannot be used."""


@dataclass
class DeviceEntry:
    """A device of the runner: its router, its spec and where it listens."""

    spec: dict[str, Any]
    router: RouterSpec
    username: str
    password: str
    core: IosRouterCore
    netns: str | None
    addresses: list[str]
    port: int = 0
    authorized_keys: list[str] = field(default_factory=list)
    listening: list[tuple[str, int]] = field(default_factory=list)
    # A loopback whose addresses the router also answers SSH on (see `mirror`): they are
    # put on the kernel's lo of its namespace, each with a listening socket.
    mirror: str | None = None
    mirrored: dict[str, Any] = field(default_factory=dict)
    factory: Any = None

    def info(self) -> dict[str, Any]:
        """Where and as whom to connect (no secret)."""
        return {
            "name": self.router.name,
            "netns": self.netns,
            "host": self.addresses[0],
            "addresses": list(self.addresses),
            "port": self.port,
            "username": self.username,
        }


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{what} must be a list of strings")
    return list(value)


def _where(name: str, raw: dict[str, Any]) -> tuple[str | None, list[str], int]:
    """(namespace, addresses, port) of a device; refuses anything but 127.0.0.1 outside a
    namespace and anything outside the lab's ranges inside one."""
    netns = raw.get("netns")
    port = raw.get("port", 22 if netns is not None else 0)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise SpecError(f"{name}: bad port {port!r}")
    if netns is None:
        addresses = _strings(raw.get("addresses", [LOCALHOST]), f"{name}: addresses")
        if addresses != [LOCALHOST]:
            raise SpecError(f"{name}: a device outside a namespace listens on {LOCALHOST} only")
        return None, addresses, port
    if not isinstance(netns, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", netns):
        raise SpecError(f"{name}: bad namespace name {netns!r}")
    addresses = _strings(raw.get("addresses"), f"{name}: addresses")
    if not addresses:
        raise SpecError(f"{name}: a device in a namespace needs its addresses")
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise SpecError(f"{name}: not an address: {text!r}") from None
        if not any(address in net for net in LAB_SPACE):
            raise SpecError(f"{name}: {text} is outside 198.18.0.0/15 and 2001:db8::/32")
    return netns, addresses, port


def parse_device(raw: Any, defaults: dict[str, str]) -> DeviceEntry:
    """Validate one device entry and build (and boot) its router."""
    if not isinstance(raw, dict):
        raise SpecError("each device must be an object")
    unknown = set(raw) - DEVICE_KEYS
    if unknown:
        raise SpecError(f"unknown device keys: {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", name):
        raise SpecError(f"bad device name: {name!r}")
    netns, addresses, port = _where(name, raw)
    login = {key: raw.get(key, defaults.get(key, FALLBACK[key])) for key in FALLBACK}
    for key, value in login.items():
        if not isinstance(value, str) or not value:
            raise SpecError(f"{name}: {key} must be a non-empty string")
    if not login["username"].isascii():
        raise SpecError(f"{name}: username must be ASCII")
    faults = raw.get("faults", [])
    if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
        raise SpecError(f"{name}: faults must be a list of objects")
    router = RouterSpec(
        name=name,
        secret=login["secret"],
        users={login["username"]: login["password"]},
        ports=_strings(raw.get("ports", list(DEFAULT_PORTS)), f"{name}: ports"),
        base_config=_strings(raw.get("base_config", list(DEFAULT_BASE_CONFIG)), "base_config"),
        startup_config=_strings(raw.get("startup_config", []), f"{name}: startup_config"),
        faults=list(faults),
        save_prompts=_flag(raw, "save_prompts", False),
        ipv6=_flag(raw, "ipv6", True),
    )
    keys = _strings(raw.get("authorized_keys", []), f"{name}: authorized_keys")
    mirror = raw.get("mirror_loopback")
    if mirror is not None and (
        netns is None or not isinstance(mirror, str) or not re.fullmatch(r"Loopback\d+", mirror)
    ):
        raise SpecError(f"{name}: mirror_loopback must name a LoopbackN, in a namespace")
    core = make_router(router)
    return DeviceEntry(raw, router, login["username"], login["password"], core, netns,
                       addresses, port, keys, mirror=mirror)  # fmt: skip


def _flag(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise SpecError(f"{raw.get('name')}: {key} must be true or false")
    return value


class Bed:
    """All devices of one runner process and the control operations on them."""

    def __init__(self, spec: dict[str, Any], spec_dir: Path) -> None:
        raw_devices = spec.get("devices")
        if not isinstance(raw_devices, list) or not raw_devices:
            raise SpecError("spec needs a non-empty 'devices' list")
        unknown = set(spec) - {"devices", "control", "host_key", "defaults"}
        if unknown:
            raise SpecError(f"unknown spec keys: {sorted(unknown)}")
        defaults = spec.get("defaults", {})
        if not isinstance(defaults, dict) or set(defaults) - set(FALLBACK):
            raise SpecError(f"defaults may set {', '.join(FALLBACK)} only")
        self.devices: dict[str, DeviceEntry] = {}
        for raw in raw_devices:
            entry = parse_device(raw, defaults)
            if entry.router.name in self.devices:
                raise SpecError(f"duplicate device name {entry.router.name}")
            self.devices[entry.router.name] = entry
        self.control = str(spec.get("control") or spec_dir / "control.sock")
        host_key = spec.get("host_key")
        if host_key is not None and not isinstance(host_key, str):
            raise SpecError("host_key must be a path")
        self.host_key: str | None = host_key
        self.stop_requested = False
        minute = minute_seconds(os.environ.get(MINUTE_ENV))
        for entry in self.devices.values():
            entry.core.minute_seconds = minute

    def device(self, name: Any) -> DeviceEntry:
        """The device called ``name``."""
        if name not in self.devices:
            raise SpecError(f"no device {name!r}")
        return self.devices[name]

    def handle(self, request: dict[str, Any]) -> Any:
        """Run one control request; returns the result or raises."""
        op = request.get("op")
        if op == "ping":
            return "pong"
        if op == "devices":
            return [d.info() for d in self.devices.values()]
        if op == "stop":
            self.stop_requested = True
            return "stopping"
        entry = self.device(request.get("device"))
        if op == "listening":
            return [list(a) for a in entry.listening]
        if op == "state":
            return {**entry.info(), **entry.core.state()}
        return _device_op(entry, str(op), request)


def _device_op(entry: DeviceEntry, op: str, request: dict[str, Any]) -> Any:
    core = entry.core
    if op == "add_fault":
        fault = request.get("fault")
        if not isinstance(fault, dict):
            raise SpecError("add_fault needs a 'fault' object")
        return {"id": core.add_fault(fault)}
    if op == "clear_faults":
        core.clear_faults()
        return None
    if op == "apply":
        return {"output": core.apply(_strings(request.get("lines"), "lines"))}
    if op == "run":
        command = request.get("command")
        if not isinstance(command, str):
            raise SpecError("run needs a 'command' string")
        return {"output": core.run(command)}
    if op == "switch":
        for key in ("save_prompts", "ipv6"):
            if key in request:
                value = request[key]
                if not isinstance(value, bool):
                    raise SpecError(f"switch: {key} must be true or false")
                setattr(core, key, value)
        return {"save_prompts": core.save_prompts, "ipv6": core.ipv6}
    if op == "drop_sessions":
        return {"dropped": core.drop_sessions()}
    if op == "reset":
        core.save_prompts = entry.router.save_prompts
        core.ipv6 = entry.router.ipv6
        core.reset()
        for fault in entry.router.faults:
            core.add_fault(fault)
        return None
    raise SpecError(f"unknown op {op!r}")


def minute_seconds(text: str | None) -> float:
    """Seconds per IOS minute from ``$IOSSIM_MINUTE_SECONDS`` (None: a real minute)."""
    if text is None or not text.strip():
        return 60.0
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.01 <= value <= 3600:
        raise SpecError(f"{MINUTE_ENV} must be a number of seconds (0.01..3600), not {text!r}")
    return value


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextlib.contextmanager
def entered(netns: str | None) -> Iterator[None]:
    """This thread in the network namespace `netns` (None: where it is), and back."""
    if netns is None:
        yield
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"{NETNS_DIR}/{netns}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def listen(reactor: Any, bed: Bed, entry: DeviceEntry) -> None:
    """Open the device's listening sockets (in its namespace) and check where they are."""
    from .ssh import ssh_factory

    factory = ssh_factory(
        entry.core,
        {entry.username: entry.password},
        {entry.username: entry.authorized_keys},
        bed.host_key,
    )
    from twisted.internet.error import CannotListenError

    entry.factory = factory
    with entered(entry.netns):
        for address in entry.addresses:
            try:
                port = reactor.listenTCP(port=entry.port, factory=factory, interface=address)
            except CannotListenError as exc:
                raise OSError(f"{entry.router.name}: cannot listen on {address}: {exc}") from None
            host = port.getHost()
            bound = ipaddress.ip_address(host.host)
            if bound != ipaddress.ip_address(address):
                raise SpecError(f"{entry.router.name} bound to {host.host}, not {address}")
            entry.listening.append((str(bound), int(host.port)))
            entry.port = int(host.port)


def _ip(netns: str, *argv: str) -> None:
    subprocess.run([IP, "-n", netns, *argv], capture_output=True, check=False, timeout=10)


def mirror(reactor: Any, entry: DeviceEntry) -> None:
    """Make the kernel agree with the router's `entry.mirror` loopback: each of its
    addresses (inside the lab's ranges only) on lo of the router's namespace, with an SSH
    listening socket, as long as the loopback holds it and is not shut down; an address
    it no longer holds is taken off (a session through it then gets no answer, as on a
    router whose management loopback changed under it)."""
    assert entry.netns is not None and entry.mirror is not None
    from .model import loopbacks

    port = next((p for p in loopbacks(entry.core.switch_configuration)
                 if p.name == entry.mirror), None)  # fmt: skip
    want: set[str] = set()
    if port is not None and not port.shutdown:
        for net in [*port.ips, *port.ipv6]:
            held = ipaddress.ip_address(str(net.ip))
            if any(held in space for space in LAB_SPACE):
                want.add(str(held))
    for address in sorted(set(entry.mirrored) - want):
        entry.mirrored.pop(address).stopListening()
        bits = 32 if ipaddress.ip_address(address).version == 4 else 128
        _ip(entry.netns, "address", "del", f"{address}/{bits}", "dev", "lo")
    for address in sorted(want - set(entry.mirrored)):
        bits = 32 if ipaddress.ip_address(address).version == 4 else 128
        _ip(entry.netns, "link", "set", "dev", "lo", "up")
        _ip(entry.netns, "address", "replace", f"{address}/{bits}", "dev", "lo", "nodad"
            if bits == 128 else "noprefixroute")  # fmt: skip
        try:
            with entered(entry.netns):
                listening = reactor.listenTCP(
                    port=entry.port, factory=entry.factory, interface=address
                )
        except Exception as error:  # tried again on the next round
            log.warning("%s: cannot listen on %s: %s", entry.router.name, address, error)
            continue
        entry.mirrored[address] = listening


def serve(bed: Bed, ready_file: Path | None, parent_pid: int | None) -> None:
    """Listen for every device and the control socket, then run the reactor."""
    from twisted.internet import reactor as twisted_reactor
    from twisted.internet import task
    from twisted.internet.protocol import Factory
    from twisted.protocols.basic import LineReceiver

    reactor: Any = twisted_reactor
    started = time.monotonic()
    for entry in bed.devices.values():
        listen(reactor, bed, entry)

    class Control(LineReceiver):
        delimiter = b"\n"
        MAX_LENGTH = 1 << 24

        def lineReceived(self, line: bytes) -> None:
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise SpecError("request must be a JSON object")
                answer = {"ok": True, "result": bed.handle(request)}
            except Exception as error:
                answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            self.sendLine(json.dumps(answer).encode())  # type: ignore[no-untyped-call]
            if bed.stop_requested:
                reactor.callLater(0.05, reactor.stop)

    with contextlib.suppress(FileNotFoundError):
        os.unlink(bed.control)
    reactor.listenUNIX(bed.control, Factory.forProtocol(Control), mode=0o600)

    def parent_gone() -> None:
        if os.getppid() != parent_pid and reactor.running:
            log.warning("parent %s is gone: stopping", parent_pid)
            reactor.stop()

    if parent_pid is not None:
        reactor.callWhenRunning(task.LoopingCall(parent_gone).start, 0.5)

    mirrored = [entry for entry in bed.devices.values() if entry.mirror is not None]

    def mirror_all() -> None:
        for entry in mirrored:
            try:
                mirror(reactor, entry)
            except Exception as error:
                log.warning("%s: mirroring %s: %s", entry.router.name, entry.mirror, error)

    if mirrored:
        mirror_all()
        reactor.callWhenRunning(task.LoopingCall(mirror_all).start, MIRROR_EVERY, False)

    ready = {
        "pid": os.getpid(),
        "control": bed.control,
        "startup_seconds": round(time.monotonic() - started, 3),
        "devices": [d.info() for d in bed.devices.values()],
    }
    text = json.dumps(ready)
    if ready_file is not None:
        partial = ready_file.with_name(ready_file.name + ".part")
        partial.write_text(text)
        os.replace(partial, ready_file)
    sys.stdout.write(READY_PREFIX + text + "\n")
    sys.stdout.flush()
    reactor.run()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog=f"python -m {RUNNER}", description=__doc__)
    parser.add_argument("--spec", required=True, type=Path, help="JSON spec file")
    parser.add_argument("--ready-file", type=Path, help="write READY JSON here")
    parser.add_argument("--parent-pid", type=int, help="stop when this parent goes away")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        spec = json.loads(args.spec.read_text())
        if not isinstance(spec, dict):
            raise SpecError("spec must be a JSON object")
        bed = Bed(spec, args.spec.parent)
    except (OSError, ValueError) as error:
        print(f"iossim: {error}", file=sys.stderr)
        return 2
    try:
        serve(bed, args.ready_file, args.parent_pid)
    except (OSError, SpecError) as error:
        print(f"iossim: {error}", file=sys.stderr)
        return 1
    return 0

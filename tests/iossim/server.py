"""Runner: many simulated routers and a control socket in one Twisted reactor.

``python -m tests.iossim --spec SPEC.json [--ready-file PATH] [--parent-pid PID]``

SPEC::

    {"control_port": 0,
     "devices": [{"name": "r1", "port": 0, "username": "admin", "password": "admin",
                  "secret": "enable", "startup_config": ["interface Loopback0", ...],
                  "ports": ["GigabitEthernet0/0", ...], "base_config": [...],
                  "faults": [{"action": "refuse", "match": "..."}]}]}

Everything listens on 127.0.0.1 only (checked after binding); port 0 picks a free port.
Once all listen, the runner writes READY JSON (pid, control_port, per-device connection
fields) to the ready file (atomically) and prints ``IOSSIM-READY <json>`` on stdout. It
stops on SIGTERM/SIGINT, on the control op ``stop``, and when its parent process (given by
``--parent-pid``) goes away.

Control protocol (TCP on 127.0.0.1, one JSON object per line each way): request
``{"op": ..., "device": NAME, ...}``, answer ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}``. Ops: ``ping``, ``devices``, ``state``, ``add_fault``
(``fault``: see :class:`tests.iossim.core.Fault`), ``clear_faults``, ``apply``
(``lines``: configuration lines run without SSH; returns the CLI output), ``run``
(``command``: one privileged EXEC command without SSH; returns its output), ``switch``
(``save_prompts``: ``write memory`` asks ``[confirm]``; ``ipv6``: false makes every IPv6
command invalid, as on an image without IPv6), ``drop_sessions``,
``reset`` (back to the spec's state), ``stop``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .core import DEFAULT_BASE_CONFIG, DEFAULT_PORTS, IosRouterCore, RouterSpec, make_router

HOST = "127.0.0.1"
READY_PREFIX = "IOSSIM-READY "

log = logging.getLogger(__name__)


class SpecError(ValueError):
    """The spec file cannot be used."""


@dataclass
class DeviceEntry:
    """A device of the bed: its router, its spec and where it listens."""

    spec: dict[str, Any]
    router: RouterSpec
    username: str
    password: str
    core: IosRouterCore
    port: int = 0

    def info(self) -> dict[str, Any]:
        """Connection fields."""
        return {
            "name": self.router.name,
            "host": HOST,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "secret": self.router.secret,
        }


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{what} must be a list of strings")
    return list(value)


def parse_device(raw: Any) -> tuple[RouterSpec, str, str, int]:
    """Validate one device entry: (router spec, username, password, port)."""
    if not isinstance(raw, dict):
        raise SpecError("each device must be an object")
    allowed = {
        "name",
        "port",
        "username",
        "password",
        "secret",
        "ports",
        "base_config",
        "startup_config",
        "faults",
        "host",
        "save_prompts",
        "ipv6",
    }
    unknown = set(raw) - allowed
    if unknown:
        raise SpecError(f"unknown device keys: {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,62}", name):
        raise SpecError(f"bad device name: {name!r}")
    if raw.get("host", HOST) != HOST:
        raise SpecError(f"{name}: devices listen on {HOST} only")
    username = raw.get("username", "admin")
    password = raw.get("password", "admin")
    secret = raw.get("secret", "enable")
    for key, value in (("username", username), ("password", password), ("secret", secret)):
        if not isinstance(value, str) or not value:
            raise SpecError(f"{name}: {key} must be a non-empty string")
    if not username.isascii():
        raise SpecError(f"{name}: username must be ASCII")
    port = raw.get("port", 0)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise SpecError(f"{name}: bad port {port!r}")
    faults = raw.get("faults", [])
    if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
        raise SpecError(f"{name}: faults must be a list of objects")
    router = RouterSpec(
        name=name,
        secret=secret,
        users={username: password},
        ports=_strings(raw.get("ports", list(DEFAULT_PORTS)), f"{name}: ports"),
        base_config=_strings(raw.get("base_config", list(DEFAULT_BASE_CONFIG)), "base_config"),
        startup_config=_strings(raw.get("startup_config", []), f"{name}: startup_config"),
        faults=list(faults),
        save_prompts=_flag(raw, "save_prompts", False),
        ipv6=_flag(raw, "ipv6", True),
    )
    return router, username, password, port


def _flag(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise SpecError(f"{raw.get('name')}: {key} must be true or false")
    return value


class Bed:
    """All devices of one runner process and the control operations on them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        raw_devices = spec.get("devices")
        if not isinstance(raw_devices, list) or not raw_devices:
            raise SpecError("spec needs a non-empty 'devices' list")
        if spec.get("host", HOST) != HOST:
            raise SpecError(f"the simulator listens on {HOST} only")
        self.devices: dict[str, DeviceEntry] = {}
        for raw in raw_devices:
            router, username, password, port = parse_device(raw)
            if router.name in self.devices:
                raise SpecError(f"duplicate device name {router.name}")
            core = make_router(router)
            entry = DeviceEntry(raw, router, username, password, core, port)
            self.devices[router.name] = entry
        self.control_port = int(spec.get("control_port", 0))
        self.stop_requested = False

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
        core = entry.core
        if op == "state":
            return {**entry.info(), **core.state()}
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


def serve(bed: Bed, ready_file: Path | None, parent_pid: int | None) -> None:
    """Listen for every device and the control socket, then run the reactor."""
    from twisted.internet import reactor as twisted_reactor
    from twisted.internet import task
    from twisted.internet.protocol import Factory
    from twisted.protocols.basic import LineReceiver

    from .ssh import CachedKeySshService

    reactor: Any = twisted_reactor
    started = time.monotonic()
    for entry in bed.devices.values():
        service = CachedKeySshService(
            ip=HOST,
            port=entry.port,
            switch_core=entry.core,
            users={entry.username: entry.password.encode()},
        )
        listening = service.hook_to_reactor(reactor)
        address = listening.getHost()
        assert address.host == HOST, f"{entry.router.name} bound to {address.host}"
        entry.port = address.port

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

    control = reactor.listenTCP(bed.control_port, Factory.forProtocol(Control), interface=HOST)
    assert control.getHost().host == HOST
    bed.control_port = control.getHost().port

    def parent_gone() -> None:
        if os.getppid() != parent_pid and reactor.running:
            log.warning("parent %s is gone: stopping", parent_pid)
            reactor.stop()

    if parent_pid is not None:
        reactor.callWhenRunning(task.LoopingCall(parent_gone).start, 0.5)

    ready = {
        "pid": os.getpid(),
        "control_port": bed.control_port,
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
    parser = argparse.ArgumentParser(prog="python -m tests.iossim", description=__doc__)
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
        bed = Bed(spec)
    except (OSError, ValueError) as error:
        print(f"iossim: {error}", file=sys.stderr)
        return 2
    serve(bed, args.ready_file, args.parent_pid)
    return 0

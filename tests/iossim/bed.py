"""Test-side API: start a bed of simulated IOS routers in a subprocess and drive it.

::

    with IosSimBed(count=3) as bed:              # or devices=[DeviceSpec(...), ...]
        dev = bed["r1"]                          # name, host, port, username, password, secret
        ConnectHandler(**dev.netmiko_params())
        bed.add_fault("r1", match="ip address 198.18.0.2 255.255.255.255")   # refusal
        bed.add_fault("r1", action="cut", at_config_line=2)                  # session cut
        bed.state("r1")["interfaces"]                                        # read-back

The subprocess is this interpreter running ``python -m tests.iossim``; it is stopped by
PID (SIGTERM, then SIGKILL) on ``stop()``/context exit, when this object is collected or
the interpreter exits, and it stops itself if this process dies.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]


class ControlError(RuntimeError):
    """The simulator refused a control request."""


class BedError(RuntimeError):
    """The simulator process did not start or died."""


@dataclass(frozen=True)
class DeviceSpec:
    """One simulated router. ``startup_config`` is IOS configuration loaded at boot (after
    ``base_config``, which by default gives GigabitEthernet0/0 10.1.0.1/24 up and
    GigabitEthernet0/1 unassigned and shut). ``faults``: see ``IosSimBed.add_fault``."""

    name: str
    username: str = "admin"
    password: str = "admin"
    secret: str = "enable"
    port: int = 0
    startup_config: Sequence[str] = ()
    base_config: Sequence[str] | None = None
    ports: Sequence[str] | None = None
    faults: Sequence[dict[str, Any]] = ()
    save_prompts: bool = False
    ipv6: bool = True

    def to_json(self) -> dict[str, Any]:
        """The runner's spec entry."""
        data: dict[str, Any] = {
            "name": self.name,
            "username": self.username,
            "password": self.password,
            "secret": self.secret,
            "port": self.port,
            "startup_config": list(self.startup_config),
            "faults": [dict(f) for f in self.faults],
            "save_prompts": self.save_prompts,
            "ipv6": self.ipv6,
        }
        if self.base_config is not None:
            data["base_config"] = list(self.base_config)
        if self.ports is not None:
            data["ports"] = list(self.ports)
        return data


@dataclass(frozen=True)
class SimDevice:
    """Connection fields of a running simulated router."""

    name: str
    host: str
    port: int
    username: str
    password: str
    secret: str

    def netmiko_params(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``netmiko.ConnectHandler``."""
        return {
            "device_type": "cisco_ios",
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "secret": self.secret,
            **extra,
        }


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, wait, SIGKILL: for the finalizer (no Popen object needed)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


@dataclass
class IosSimBed:
    """A set of simulated routers served by one subprocess (one Twisted reactor).

    Give ``devices`` or ``count`` (names ``{prefix}1``..``{prefix}N``, default specs).
    All sockets are on 127.0.0.1. ``startup_timeout`` bounds the wait for READY.
    """

    devices: Sequence[DeviceSpec] = ()
    count: int = 0
    prefix: str = "r"
    startup_timeout: float = 60.0
    log_level: str = "WARNING"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    ready: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _workdir: Path | None = field(default=None, init=False, repr=False)
    _finalizer: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        specs = list(self.devices)
        specs += [DeviceSpec(f"{self.prefix}{i}") for i in range(1, self.count + 1)]
        if not specs:
            raise ValueError("a bed needs devices or count")
        self.devices = specs

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> IosSimBed:
        """Start the runner and wait until every device listens."""
        if self.process is not None:
            raise BedError("already started")
        self._workdir = Path(tempfile.mkdtemp(prefix="iossim-"))
        spec_file = self._workdir / "spec.json"
        ready_file = self._workdir / "ready.json"
        spec = {"host": HOST, "devices": [d.to_json() for d in self.devices]}
        spec_file.write_text(json.dumps(spec))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        log = (self._workdir / "runner.log").open("wb")
        command = [
            sys.executable,
            "-m",
            "tests.iossim",
            "--spec",
            str(spec_file),
            "--ready-file",
            str(ready_file),
            "--parent-pid",
            str(os.getpid()),
            "--log-level",
            self.log_level,
        ]
        with log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        self._finalizer = weakref.finalize(self, _terminate, self.process.pid, 5.0)
        deadline = time.monotonic() + self.startup_timeout
        while not ready_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log_text()[-3000:]
                self.stop()
                raise BedError(f"simulator did not become ready; log:\n{tail}")
            time.sleep(0.02)
        self.ready = json.loads(ready_file.read_text())
        return self

    def __enter__(self) -> IosSimBed:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """PID of the runner subprocess."""
        if self.process is None:
            raise BedError("not started")
        return self.process.pid

    @property
    def alive(self) -> bool:
        """True while the runner process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the runner (SIGTERM, then SIGKILL after ``timeout``) and remove its files."""
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def kill(self) -> None:
        """SIGKILL the runner now (every device vanishes at once, like a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        """The runner's stdout/stderr so far."""
        if self._workdir is None:
            return ""
        path = self._workdir / "runner.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def rss_bytes(self) -> int:
        """Resident memory of the runner process."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise BedError("no VmRSS")

    # -- devices ------------------------------------------------------------------

    @property
    def sim_devices(self) -> list[SimDevice]:
        """Connection fields of every device, in spec order."""
        return [SimDevice(**d) for d in self.ready.get("devices", [])]

    def __getitem__(self, name: str) -> SimDevice:
        for device in self.sim_devices:
            if device.name == name:
                return device
        raise KeyError(name)

    def __iter__(self) -> Iterator[SimDevice]:
        return iter(self.sim_devices)

    def __len__(self) -> int:
        return len(self.ready.get("devices", []))

    # -- control channel ----------------------------------------------------------

    def control(self, op: str, timeout: float = 10.0, **fields: Any) -> Any:
        """Send one control request; returns its result or raises ControlError."""
        port = self.ready.get("control_port")
        if not port:
            raise BedError("not started")
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    raise BedError(f"control connection closed during {op}")
                data += chunk
        answer = json.loads(data)
        if not answer.get("ok"):
            raise ControlError(answer.get("error", "unknown error"))
        return answer.get("result")

    def state(self, name: str) -> dict[str, Any]:
        """Full device state: interfaces, running/startup config, saved, log, faults."""
        result: dict[str, Any] = self.control("state", device=name)
        return result

    def interface(self, name: str, interface: str) -> dict[str, Any] | None:
        """One interface of ``state(name)``, or None when it does not exist."""
        for entry in self.state(name)["interfaces"]:
            if entry["name"] == interface:
                return dict(entry)
        return None

    def add_fault(
        self,
        name: str,
        action: str = "refuse",
        *,
        match: str | None = None,
        regex: str | None = None,
        at_config_line: int | None = None,
        message: str | None = None,
        times: int | None = None,
    ) -> int:
        """Make device ``name`` refuse/cut/hang on a line; returns the fault id.

        Trigger: ``match`` (exact line, whitespace-normalised), ``regex`` (full match) or
        ``at_config_line`` (Nth configuration-mode line from now, once). ``refuse`` prints
        ``message`` (default: IOS's invalid-input caret + message) and skips the line;
        ``cut`` drops the TCP connection before applying the line; ``hang`` stops
        answering on that session. ``times`` limits how often it fires.
        """
        fault: dict[str, Any] = {"action": action}
        for key, value in (
            ("match", match),
            ("regex", regex),
            ("at_config_line", at_config_line),
            ("message", message),
            ("times", times),
        ):
            if value is not None:
                fault[key] = value
        result = self.control("add_fault", device=name, fault=fault)
        return int(result["id"])

    def clear_faults(self, name: str) -> None:
        """Remove every fault of device ``name``."""
        self.control("clear_faults", device=name)

    def apply(self, name: str, lines: Sequence[str]) -> str:
        """Run configuration lines on ``name`` without SSH; returns the CLI output."""
        result = self.control("apply", device=name, lines=list(lines))
        return str(result["output"])

    def run(self, name: str, command: str) -> str:
        """Run one privileged EXEC command (e.g. a show) on ``name`` without SSH."""
        return str(self.control("run", device=name, command=command)["output"])

    def switch(
        self, name: str, *, save_prompts: bool | None = None, ipv6: bool | None = None
    ) -> dict[str, bool]:
        """Turn a behaviour of ``name`` on or off until its reset: ``save_prompts`` (``write
        memory`` asks ``Overwrite the previous NVRAM configuration?[confirm]``), ``ipv6``
        (False: every IPv6 command is invalid input, as on an image without IPv6)."""
        fields = {
            k: v for k, v in (("save_prompts", save_prompts), ("ipv6", ipv6)) if v is not None
        }
        return dict(self.control("switch", device=name, **fields))

    def drop_sessions(self, name: str) -> int:
        """Cut every open SSH session of ``name``; returns how many there were."""
        return int(self.control("drop_sessions", device=name)["dropped"])

    def reset(self, name: str) -> None:
        """Back to the spec's state (sessions cut, log and faults cleared)."""
        self.control("reset", device=name)

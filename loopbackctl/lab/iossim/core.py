"""The simulated IOS router: a fake-switches core registered in a ``SwitchFactory``.

One :class:`IosRouterCore` per device. It owns what fake-switches' configuration does not:
startup configuration, enable secret, injected faults, the command log and live SSH
sessions. Faults (see :class:`Fault`) act before a received line is processed.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from fake_switches.cisco.cisco_core import BaseCiscoSwitchCore, CiscoShellSession
from fake_switches.switch_factory import DEFAULT_MAPPING, SwitchFactory
from fake_switches.terminal import LoggingTerminalController, TerminalController

from . import DEFAULT_BASE_CONFIG, DEFAULT_PORTS, render
from .archive import Archive, RevertTimer
from .model import (
    SOURCE_NVRAM,
    SOURCE_UNSET,
    LoopbackPort,
    RouterPort,
    format_v6,
    router_ports,
)
from .processors import (
    INVALID,
    IosConfigProcessor,
    IosEnabledProcessor,
    IosInterfaceProcessor,
    IosPipingProcessor,
    IosUserExecProcessor,
)
from .routing import Routing

MODEL = "iossim_router"
CONFIG_MODES = ("config", "config-if", "config-other")
LOG_LIMIT = 5000
FAULT_ACTIONS = ("refuse", "cut", "hang")

log = logging.getLogger(__name__)


class FaultError(ValueError):
    """A fault description that cannot be used."""


@dataclass
class Fault:
    """Something the device does instead of processing a received line.

    Trigger (exactly one): ``match`` (the line, whitespace-normalised, equals it; any
    mode), ``regex`` (full match of the normalised line; any mode) or ``at_config_line``
    (the Nth non-blank line received in a configuration mode, counted from when the fault
    was added, across sessions; netmiko's prompt-probing empty lines do not count).
    ``action``: ``refuse`` prints ``message`` (default: caret + ``% Invalid input
    detected at '^' marker.``) and leaves the line unapplied; ``cut`` drops the TCP
    connection before the line is applied; ``hang`` stops answering on that session.
    ``times``: how often it fires (None: always; ``at_config_line`` fires once).
    """

    id: int
    action: str = "refuse"
    match: str | None = None
    regex: str | None = None
    at_config_line: int | None = None
    message: str | None = None
    times: int | None = None
    fired: int = 0
    seen_config_lines: int = 0

    @classmethod
    def from_dict(cls, fault_id: int, spec: dict[str, Any]) -> Fault:
        """Validate a JSON fault description."""
        allowed = {"action", "match", "regex", "at_config_line", "message", "times"}
        unknown = set(spec) - allowed
        if unknown:
            raise FaultError(f"unknown fault keys: {sorted(unknown)}")
        fault = cls(id=fault_id, **spec)
        triggers = [fault.match, fault.regex, fault.at_config_line]
        if sum(t is not None for t in triggers) != 1:
            raise FaultError("give exactly one of match, regex, at_config_line")
        if fault.action not in FAULT_ACTIONS:
            raise FaultError(f"action must be one of {FAULT_ACTIONS}")
        if fault.at_config_line is not None and fault.at_config_line < 1:
            raise FaultError("at_config_line counts from 1")
        if fault.regex is not None:
            re.compile(fault.regex)
        if fault.match is not None:
            fault.match = normalise(fault.match)
        if fault.at_config_line is not None:
            fault.times = 1
        return fault

    @property
    def spent(self) -> bool:
        """True once it fired ``times`` times."""
        return self.times is not None and self.fired >= self.times


def normalise(line: str) -> str:
    """Collapse whitespace the way fault matching compares lines."""
    return " ".join(line.split())


def mode_of(processor: Any) -> str:
    """``user``, ``exec``, ``config``, ``config-if`` or ``config-other``."""
    if isinstance(processor, IosUserExecProcessor):
        return "user"
    if isinstance(processor, IosEnabledProcessor):
        return "exec"
    if isinstance(processor, IosConfigProcessor):
        return "config"
    if isinstance(processor, IosInterfaceProcessor):
        return "config-if"
    return "config-other"


class CaptureTerminal(TerminalController):  # type: ignore[misc]
    """Collects what a session writes (for control-channel ``apply`` and boot)."""

    def __init__(self) -> None:
        self.chunks: list[str] = []

    def write(self, text: str) -> None:
        """Keep the text."""
        self.chunks.append(text)

    def add_any_key_handler(self, callback: Any, *params: Any) -> None:
        """Not used by these commands."""

    def remove_any_key_handler(self) -> None:
        """Not used by these commands."""

    @property
    def text(self) -> str:
        """Everything written so far."""
        return "".join(self.chunks)


class IosShellSession(CiscoShellSession):  # type: ignore[misc]
    """One CLI session: logs lines, applies faults, turns crashes into IOS refusals."""

    def __init__(
        self,
        processor: Any,
        core: IosRouterCore,
        session_id: int,
        shell: Any = None,
        local: bool = False,
    ) -> None:
        self.core = core
        self.session_id = session_id
        self.shell = shell
        self.local = local
        self.hung = False
        self.was_cut = False
        super().__init__(processor)

    def actual_processor(self) -> Any:
        """The processor of the mode the session is in."""
        proc = self.command_processor
        while proc.sub_processor is not None:
            proc = proc.sub_processor
        return proc

    def receive(self, line: str) -> bool:
        """Process one line; returns False when the session should close."""
        if self.hung or self.was_cut:
            return True
        proc = self.actual_processor()
        mode = mode_of(proc)
        secret_entry = proc.continuing_to is not None and proc.replace_input == ""
        core = self.core
        if not self.local:
            core.record(self.session_id, mode, "<secret>" if secret_entry else line)
            blank = secret_entry or not line.strip()
            fault = None if blank else core.take_fault(line, mode in CONFIG_MODES)
            if fault is not None:
                return self._apply_fault(fault, proc)
        core.line_prompt = proc.get_prompt() or ""
        core.line_text = line
        core.current_session = self
        if not self.local:
            core.revert.touch()
        try:
            return bool(super().receive(line))
        except Exception:
            log.exception("%s: command crashed: %r", core.hostname, line)
            self.command_processor.piping_processor.stop_listening()
            self._write_invalid(proc, line)
            self.command_processor.show_prompt()
            return True

    def _apply_fault(self, fault: Fault, proc: Any) -> bool:
        if fault.action == "cut":
            self.cut()
        elif fault.action == "hang":
            self.hung = True
        else:
            if fault.message is None:
                self._write_invalid(proc, "")
            else:
                for text in fault.message.split("\n"):
                    proc.write_line(text)
            self.command_processor.show_prompt()
        return True

    def _write_invalid(self, proc: Any, line: str) -> None:
        indent = len(proc.get_prompt() or "") + (len(line) - len(line.lstrip()))
        proc.write_line(" " * indent + "^")
        proc.write_line(INVALID)
        proc.write_line("")

    def handle_unknown_command(self, line: str) -> None:
        """IOS prints the caret under the first word for an unknown command."""
        self._write_invalid(self.actual_processor(), line)

    def cut(self) -> None:
        """Drop the TCP connection at once (no SSH disconnect, no channel close)."""
        self.was_cut = True
        tcp = tcp_transport(self.shell)
        if tcp is not None:
            tcp.abortConnection()
        elif self.shell is not None:
            self.shell.terminal.loseConnection()

    @property
    def is_open(self) -> bool:
        """True while the TCP connection is up."""
        tcp = tcp_transport(self.shell)
        return bool(tcp is not None and tcp.connected and not self.was_cut)


def tcp_transport(shell: Any) -> Any:
    """The TCP transport under fake-switches' SSH shell protocol (None if unreachable).

    Chain: insults ServerProtocol -> SSHSessionProcessProtocol -> SSHSession channel ->
    SSHConnection -> SSHServerTransport -> TCP.
    """
    obj = getattr(shell, "terminal", None)
    for attribute in ("transport", "session", "conn", "transport", "transport"):
        obj = getattr(obj, attribute, None)
    return obj


class IosRouterCore(BaseCiscoSwitchCore):  # type: ignore[misc]
    """A Cisco IOS router with routed ports and loopbacks (registered as ``MODEL``)."""

    def __init__(self, switch_configuration: Any) -> None:
        super().__init__(switch_configuration)
        self.hostname: str = switch_configuration.name
        self.secret: str = switch_configuration.privileged_passwords[0]
        self.users: dict[str, str] = {}
        self.base_config: list[str] = list(DEFAULT_BASE_CONFIG)
        self.startup_lines: list[str] = []
        self.startup_body: list[str] = []
        self.save_count = 0
        self.faults: list[Fault] = []
        self.next_fault_id = 1
        self.command_log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.config_lines = 0
        self.sessions: list[IosShellSession] = []
        self.line_prompt = ""
        self.line_text = ""
        self.refused = False
        #: VRF name → its address families (``vrf definition``).
        self.vrfs: dict[str, list[str]] = {}
        #: Switches: ``write memory`` asks ``[confirm]``; IPv6 exists on this router.
        self.save_prompts = False
        self.ipv6 = True
        #: The ``archive`` section and the Rollback Confirmed Change timer (see .archive).
        self.archive = Archive()
        self.revert = RevertTimer(self)
        #: How long one IOS minute lasts here (the simulator's test knob), and the clock
        #: timers run on (the reactor unless a test gives a twisted.internet.task.Clock).
        self.minute_seconds = 60.0
        self._clock: Any = None
        #: The session whose line is being processed (rollback messages go to it).
        self.current_session: IosShellSession | None = None
        #: OSPF and BGP processes (see .routing).
        self.routing = Routing()
        #: When the router booted (monotonic): OSPF's start times count from here.
        self.booted = time.monotonic()

    #: Router attributes that are configuration (a rollback restores them).
    snapshot_attributes: tuple[str, ...] = ("vrfs",)

    @property
    def clock(self) -> Any:
        """The Twisted clock timers run on."""
        if self._clock is None:
            from twisted.internet import reactor

            self._clock = reactor
        return self._clock

    @clock.setter
    def clock(self, value: Any) -> None:
        self._clock = value

    @staticmethod
    def get_default_ports() -> list[RouterPort]:
        """GigabitEthernet0/0 and GigabitEthernet0/1."""
        return [RouterPort(name) for name in DEFAULT_PORTS]

    def new_command_processor(self) -> IosEnabledProcessor:
        """Privileged EXEC with its configuration modes below it."""
        return IosEnabledProcessor(self, IosConfigProcessor(self, IosInterfaceProcessor(self)))

    def launch(self, protocol: str, terminal_controller: Any) -> IosShellSession:
        """A new CLI session (fake-switches calls this for each SSH shell)."""
        self.last_connection_id += 1
        self.logger = logging.getLogger(
            f"iossim.{self.hostname}.{self.last_connection_id}.{protocol}"
        )
        processor = IosUserExecProcessor(self, self.new_command_processor())
        processor.init(
            self.switch_configuration,
            LoggingTerminalController(self.logger, terminal_controller),
            self.logger,
            IosPipingProcessor(self.logger),
        )
        shell = getattr(terminal_controller, "shell", None)
        session = IosShellSession(processor, self, self.last_connection_id, shell=shell)
        self.sessions = [s for s in self.sessions if s.is_open]
        self.sessions.append(session)
        return session

    # -- configuration -------------------------------------------------------------

    def apply(self, lines: list[str]) -> str:
        """Run lines in configuration mode without SSH (no faults, no log).

        Returns the transcript (prompts, echoed lines, output) as a terminal shows it.
        """
        terminal = CaptureTerminal()
        processor = self.new_command_processor()
        logger = logging.getLogger(f"iossim.{self.hostname}.local")
        processor.init(self.switch_configuration, terminal, logger, IosPipingProcessor(logger))
        session = IosShellSession(processor, self, 0, local=True)
        for line in ["configure terminal", *lines]:
            terminal.write(line + "\n")
            session.receive(line)
        if mode_of(session.actual_processor()) in CONFIG_MODES:
            terminal.write("end\n")
            session.receive("end")
        return terminal.text

    def run(self, command: str, *answers: str) -> str:
        """Run one privileged EXEC command without SSH, then each of `answers` (to the
        questions it asks); the output without the last prompt."""
        terminal = CaptureTerminal()
        processor = self.new_command_processor()
        logger = logging.getLogger(f"iossim.{self.hostname}.local")
        processor.init(self.switch_configuration, terminal, logger, IosPipingProcessor(logger))
        session = IosShellSession(processor, self, 0, local=True)
        prompt = processor.get_prompt()
        terminal.chunks.clear()
        session.receive(command)
        for answer in answers:
            terminal.write(answer + "\n")
            session.receive(answer)
        text = terminal.text
        return text[: -len(prompt)] if text.endswith(prompt) else text

    def boot(self) -> None:
        """Load base + startup lines as NVRAM content; refusals there are errors."""
        self.routing.loading = True
        try:
            output = self.apply(self.base_config + self.startup_lines)
        finally:
            self.routing.loading = False
        refusals = [
            line
            for line in output.splitlines()
            if line.startswith(("%", "Not a valid", "Bad mask"))
        ]
        if refusals:
            raise ValueError(f"{self.hostname}: startup configuration refused: {refusals}")
        for port in router_ports(self.switch_configuration):
            port.address_source = SOURCE_NVRAM
        # After a reload the routing processes start once the whole configuration is in:
        # their router-ids come from the loopbacks wherever the blocks stand in it.
        self.routing.restart(self.switch_configuration)
        self.startup_body = self.running_body()

    def reset(self) -> None:
        """Back to the booted state: sessions cut, faults, log and counters cleared."""
        self.drop_sessions()
        conf = self.switch_configuration
        for port in list(conf.ports):
            if isinstance(port, LoopbackPort):
                conf.remove_port(port)
            elif isinstance(port, RouterPort):
                port.description = None
                port.clear_addresses()
                port.shutdown = False
                port.vrf = None
                port.extras = {}
                port.address_source = SOURCE_UNSET
        self.vrfs.clear()
        self.revert.drop()
        self.revert = RevertTimer(self)
        self.archive = Archive()
        self.routing.clear()
        self.faults.clear()
        self.command_log.clear()
        self.config_lines = 0
        self.save_count = 0
        self.boot()

    def running_body(self) -> list[str]:
        """Running configuration from ``!`` to ``end``."""
        body = render.running_config_body(
            self.hostname,
            self.switch_configuration,
            self.secret,
            self.users,
            self.vrfs,
            self.routing.config(),
        )
        # IOS prints the archive section after the users, before the interfaces.
        first = next((i for i, line in enumerate(body) if line.startswith("interface ")), 0)
        return body[:first] + self.archive.lines() + body[first:]

    def save(self) -> None:
        """write memory: the running configuration becomes the startup configuration."""
        self.startup_body = self.running_body()
        self.save_count += 1

    # -- faults, log, sessions ------------------------------------------------------

    def add_fault(self, spec: dict[str, Any]) -> int:
        """Install a fault (see :class:`Fault`); returns its id."""
        fault = Fault.from_dict(self.next_fault_id, spec)
        self.next_fault_id += 1
        self.faults.append(fault)
        return fault.id

    def clear_faults(self) -> None:
        """Remove all faults."""
        self.faults.clear()

    def take_fault(self, line: str, is_config: bool) -> Fault | None:
        """The first live fault this (non-blank) received line triggers, counted as fired."""
        text = normalise(line)
        if is_config:
            self.config_lines += 1
        chosen = None
        for fault in self.faults:
            if fault.spent:
                continue
            if fault.at_config_line is not None:
                if not is_config:
                    continue
                fault.seen_config_lines += 1
                hit = fault.seen_config_lines == fault.at_config_line
            elif fault.match is not None:
                hit = text == fault.match
            else:
                hit = re.fullmatch(fault.regex or "", text) is not None
            if hit and chosen is None:
                chosen = fault
        if chosen is not None:
            chosen.fired += 1
        return chosen

    def record(self, session_id: int, mode: str, line: str) -> None:
        """Append to the command log."""
        self.command_log.append({"session": session_id, "mode": mode, "line": line})

    def drop_sessions(self) -> int:
        """Cut every open SSH session; how many were open."""
        open_sessions = [s for s in self.sessions if s.is_open]
        for session in open_sessions:
            session.cut()
        self.sessions = []
        return len(open_sessions)

    def state(self) -> dict[str, Any]:
        """Everything a test may want to assert on, as JSON-able data."""
        running = self.running_body()
        return {
            "hostname": self.hostname,
            "interfaces": [port_state(p) for p in router_ports(self.switch_configuration)],
            "running_config": "\n".join(running) + "\n",
            "startup_config": "\n".join(self.startup_body) + "\n",
            "saved": running == self.startup_body,
            "save_count": self.save_count,
            "config_lines": self.config_lines,
            "sessions_open": sum(1 for s in self.sessions if s.is_open),
            "sessions_total": self.last_connection_id,
            "faults": [asdict(f) for f in self.faults],
            "vrfs": {name: list(families) for name, families in self.vrfs.items()},
            "routing": [
                {
                    "protocol": p.protocol,
                    "number": p.number,
                    "vrf": p.vrf,
                    "router_id": None if p.router_id is None else str(p.router_id),
                    "live": None if p.live is None else str(p.live),
                }
                for p in self.routing.processes
            ],
            "save_prompts": self.save_prompts,
            "ipv6": self.ipv6,
            "archive": {"path": self.archive.path, "files": list(self.archive.files)},
            "revert": self.revert.state(),
            "reverts": self.revert.reverts,
            "revert_mismatch": self.revert.mismatch,
            "minute_seconds": self.minute_seconds,
            "command_log": list(self.command_log),
        }


def port_state(port: RouterPort) -> dict[str, Any]:
    """One interface as JSON-able data."""
    ipv4 = [
        {
            "address": str(ip.ip),
            "prefixlen": ip.prefixlen,
            "netmask": str(ip.netmask),
            "secondary": index > 0,
        }
        for index, ip in enumerate(port.ips)
    ]
    return {
        "name": port.name,
        "kind": "loopback" if port.is_loopback else "physical",
        "description": port.description,
        "shutdown": bool(port.shutdown),
        "ipv4": ipv4,
        "ipv6": [format_v6(net) for net in port.ipv6],
        "address_source": port.address_source,
        "vrf": port.vrf,
        "extras": [port.extras[k] for k in render.EXTRA_ORDER if k in port.extras],
    }


FACTORY = SwitchFactory(mapping={**DEFAULT_MAPPING, MODEL: IosRouterCore})


@dataclass
class RouterSpec:
    """What a device is made of (validated by the runner before use)."""

    name: str
    secret: str
    users: dict[str, str]
    ports: list[str] = field(default_factory=lambda: list(DEFAULT_PORTS))
    base_config: list[str] = field(default_factory=lambda: list(DEFAULT_BASE_CONFIG))
    startup_config: list[str] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    save_prompts: bool = False
    ipv6: bool = True


def make_router(spec: RouterSpec) -> IosRouterCore:
    """Build and boot a router through the fake-switches factory."""
    core = FACTORY.get(
        MODEL,
        hostname=spec.name,
        password=spec.secret,
        ports=[RouterPort(name) for name in spec.ports],
    )
    assert isinstance(core, IosRouterCore)
    core.users = dict(spec.users)
    core.save_prompts = spec.save_prompts
    core.ipv6 = spec.ipv6
    core.base_config = list(spec.base_config)
    core.startup_lines = list(spec.startup_config)
    core.boot()
    for fault in spec.faults:
        core.add_fault(fault)
    return core

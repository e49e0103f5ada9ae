"""IOS's configuration archive and Configuration Rollback Confirmed Change.

What Cisco documents (Configuration Replace and Configuration Rollback; Configuration
Rollback Confirmed Change), as the simulator models it:

- ``archive`` / `` path URL`` / `` maximum N`` (1..14, default 10): where the router
  keeps copies of its running configuration. Without a ``path`` the rollback feature
  cannot run.
- ``configure terminal revert timer {MINUTES | idle MINUTES}`` (1..120 minutes): the
  running configuration is archived at that moment, configuration mode is entered, and
  a timer starts. Unless ``configure confirm`` is entered before it expires, the router
  replaces its whole running configuration with that archived one: every change made
  meanwhile, by any session, is undone (loopbacks created since are removed, removed ones
  come back with their lines, ``router`` blocks too; a routing process that stays keeps
  the router-id it runs with, as IOS changes it only at a clear). ``idle``: the timer
  restarts at every line a user enters.
- ``configure confirm``: keeps the changes, the timer is cancelled.
- ``configure revert now``: rolls back at once; ``configure revert timer {M | idle M}``:
  the pending timer starts again with the new value.
- ``show archive``, ``show archive config rollback timer``: layouts of Cisco's command
  reference samples.

What the router prints comes from transcripts of real routers: ``Rollback Confirmed
Change: Backing up current running config to flash:archive-Feb-15-15-56-38.517-1``
before ``Enter configuration commands...``; one minute before the rollback (at once for a
one-minute timer, after the configuration prompt) ``Rollback Confirmed Change: Rollback
will begin in one minute.`` and ``Enter "configure confirm" if you wish to keep what
you've configured``; at expiry ``Rollback Confirmed Change: rolling to:FILE``. Without an
archive path IOS refuses with ``%Turn config archive on before using Rollback Confirmed
Change`` (the text Cisco's NSO NED and NAPALM-style tools match) and stays in EXEC mode;
``%No Rollback Confirmed Change pending`` is what ``show archive config rollback timer``
prints with no timer (a real router's transcript).

Not verified against a real router (chosen plausibly): ``configure confirm`` and
``configure revert`` with nothing pending print that same ``%No Rollback Confirmed
Change pending``; a second ``configure terminal revert timer`` while one is pending is
refused with ``%Rollback Confirmed Change already pending`` (IOS's behaviour there is not
documented); the rollback's own pass listing (``!Pass 1`` ...) is not printed; messages
go to the session that started the timer only.

Time: one IOS minute lasts ``IosRouterCore.minute_seconds`` (60 unless the simulator is
started with ``$IOSSIM_MINUTE_SECONDS``, a test knob: see :mod:`.server`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import LoopbackPort, RouterPort
from .routing import BGP, Process

if TYPE_CHECKING:
    from .core import IosRouterCore, IosShellSession

log = logging.getLogger(__name__)

ARCHIVE_OFF = "%Turn config archive on before using Rollback Confirmed Change"
NO_PENDING = "%No Rollback Confirmed Change pending"
ALREADY_PENDING = "%Rollback Confirmed Change already pending"
NOT_ENABLED = " Archive feature not enabled"
BACKUP = "Rollback Confirmed Change: Backing up current running config to {file}"
WARNING = (
    "Rollback Confirmed Change: Rollback will begin in one minute.",
    'Enter "configure confirm" if you wish to keep what you\'ve configured',
)
ROLLING = "Rollback Confirmed Change: rolling to:{file}"

MIN_MINUTES, MAX_MINUTES = 1, 120
MAX_ARCHIVES, DEFAULT_MAXIMUM = 14, 10
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Attributes of the fake-switches configuration object that are configuration.
CONF_ATTRIBUTES = ("static_routes",)


@dataclass
class Archive:
    """The ``archive`` section and the files it holds."""

    path: str | None = None
    maximum: int | None = None
    files: list[str] = field(default_factory=list)
    counter: int = 0

    def lines(self) -> list[str]:
        """The section as ``show running-config`` prints it (nothing when unset)."""
        if self.path is None and self.maximum is None:
            return []
        out = ["archive"]
        if self.path is not None:
            out.append(f" path {self.path}")
        if self.maximum is not None:
            out.append(f" maximum {self.maximum}")
        return [*out, "!"]

    def next_name(self, now: float) -> str:
        """``PATH-Mon-DD-HH-MM-SS.mmm-N`` (day padded with ``-``, as IOS names them)."""
        t = time.gmtime(now)
        ms = int((now % 1) * 1000)
        stamp = f"{MONTHS[t.tm_mon - 1]}-{t.tm_mday:->2}-{t.tm_hour:02}-{t.tm_min:02}"
        return f"{self.path}-{stamp}-{t.tm_sec:02}.{ms:03}-{self.counter}"

    def store(self, now: float) -> str:
        """Archive the running configuration: the new file's name."""
        name = self.next_name(now)
        self.counter += 1
        self.files.append(name)
        del self.files[: -(self.maximum or DEFAULT_MAXIMUM)]
        return name

    def show(self) -> list[str]:
        """``show archive``."""
        if self.path is None:
            return [NOT_ENABLED]
        maximum = self.maximum or DEFAULT_MAXIMUM
        first = self.counter - len(self.files) + 1
        lines = [
            f"The maximum archive configurations allowed is {maximum}.",
            f"There are currently {len(self.files)} archive configurations saved.",
            f"The next archive file will be named {self.path}-<timestamp>-{self.counter}",
            " Archive #  Name",
        ]
        for i, name in enumerate(self.files):
            recent = " <- Most Recent" if i == len(self.files) - 1 else ""
            lines.append(f"   {first + i:<9}{name}{recent}")
        return lines


@dataclass
class Snapshot:
    """The running configuration as data: every routed port's attributes (loopbacks
    included), the router's configuration attributes, and its text (to check a restore)."""

    ports: list[tuple[str, bool, dict[str, Any]]]
    core: dict[str, Any]
    conf: dict[str, Any]
    archive: tuple[str | None, int | None]
    #: The ``router`` blocks (their configuration; what each process runs with is not).
    routing: list[Process]
    text: list[str]

    @classmethod
    def take(cls, core: IosRouterCore) -> Snapshot:
        conf = core.switch_configuration
        ports = [
            (p.name, p.is_loopback, _port_fields(p))
            for p in conf.ports
            if isinstance(p, RouterPort)
        ]
        return cls(
            ports=ports,
            core={a: copy.deepcopy(getattr(core, a)) for a in core.snapshot_attributes},
            conf={a: copy.deepcopy(getattr(conf, a)) for a in CONF_ATTRIBUTES if hasattr(conf, a)},
            archive=(core.archive.path, core.archive.maximum),
            routing=copy.deepcopy(core.routing.processes),
            text=core.running_body(),
        )

    def restore(self, core: IosRouterCore) -> None:
        """Replace the running configuration with this one (configure replace)."""
        conf = core.switch_configuration
        keep = {name for name, _, _ in self.ports}
        for port in list(conf.ports):
            if isinstance(port, LoopbackPort) and port.name not in keep:
                conf.remove_port(port)
        for name, loopback, fields in self.ports:
            port = conf.get_port(name)
            if port is None:
                port = LoopbackPort(name) if loopback else RouterPort(name)
                conf.add_port(port)
            port.__dict__.update(copy.deepcopy(fields))
        for attribute, value in self.core.items():
            setattr(core, attribute, copy.deepcopy(value))
        for attribute, value in self.conf.items():
            setattr(conf, attribute, copy.deepcopy(value))
        # The archive's files stay on flash: only its configuration lines come back.
        core.archive.path, core.archive.maximum = self.archive
        self._restore_routing(core)

    def _restore_routing(self, core: IosRouterCore) -> None:
        """``router`` blocks as archived: removed ones come back (and start, taking a
        router-id from the loopbacks as they are now), added ones go; a kept process keeps
        running with its router-id (IOS changes a running OSPF router-id only at a clear;
        BGP's configured one applies at once)."""
        conf, routing = core.switch_configuration, core.routing
        wanted = {(p.protocol, p.number): p for p in self.routing}
        for process in list(routing.processes):
            if (process.protocol, process.number) not in wanted:
                routing.remove(process)
        for (protocol, number), saved in wanted.items():
            running = routing.find(protocol, number)
            if running is None:
                routing.add(conf, dataclasses.replace(saved, lines=list(saved.lines), live=None))
                continue
            changed_id = running.router_id != saved.router_id
            running.vrf, running.router_id = saved.vrf, saved.router_id
            running.lines = list(saved.lines)
            if changed_id and protocol == BGP:
                routing.start(conf, running)


def _port_fields(port: RouterPort) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in port.__dict__.items() if k != "switch_configuration"})


@dataclass
class PendingRevert:
    """A started ``revert timer``: the archived configuration and when it comes back."""

    snapshot: Snapshot
    file: str
    minutes: int
    idle: bool
    user: str
    session: IosShellSession | None
    configured: float
    call: Any = None
    warning: Any = None


class RevertTimer:
    """Configuration Rollback Confirmed Change on one router (see the module docstring).

    The timer runs on a Twisted clock (``core.clock``: the reactor unless a test gives a
    ``task.Clock``); one IOS minute is ``core.minute_seconds``.
    """

    def __init__(self, core: IosRouterCore) -> None:
        self.core = core
        self.pending: PendingRevert | None = None
        self.reverts = 0
        self.mismatch: str | None = None

    def start(self, minutes: int, idle: bool, session: IosShellSession | None) -> list[str]:
        """Archive the running configuration and start the timer: the lines IOS prints
        (a refusal is one ``%`` line and nothing starts)."""
        core = self.core
        if core.archive.path is None:
            return [ARCHIVE_OFF]
        if self.pending is not None:
            return [ALREADY_PENDING]
        now = time.time()
        name = core.archive.store(now)
        self.pending = PendingRevert(
            snapshot=Snapshot.take(core),
            file=name,
            minutes=minutes,
            idle=idle,
            user=next(iter(core.users), "console"),
            session=session,
            configured=now,
        )
        self._schedule()
        return [BACKUP.format(file=name), ""]

    def confirm(self) -> list[str]:
        """``configure confirm``: keep the changes."""
        if self.pending is None:
            return [NO_PENDING]
        self._cancel()
        self.pending = None
        return []

    def reset(self, minutes: int, idle: bool) -> list[str]:
        """``configure revert timer``: the pending timer starts again."""
        if self.pending is None:
            return [NO_PENDING]
        self.pending.minutes, self.pending.idle = minutes, idle
        self.pending.configured = time.time()
        self._schedule()
        return []

    def now(self) -> list[str]:
        """``configure revert now``."""
        if self.pending is None:
            return [NO_PENDING]
        self.expire()
        return []

    def touch(self) -> None:
        """A line was entered: an idle timer starts again."""
        pending = self.pending
        if pending is not None and pending.idle:
            pending.configured = time.time()
            self._schedule()

    def drop(self) -> None:
        """Forget any pending timer (the router's reset)."""
        self._cancel()
        self.pending = None

    def expire(self) -> None:
        """The timer ran out: the archived configuration replaces the running one."""
        pending = self.pending
        if pending is None:
            return
        self._cancel()
        self.pending = None
        pending.snapshot.restore(self.core)
        self.reverts += 1
        self._tell(pending, [ROLLING.format(file=pending.file)])
        if self.core.running_body() != pending.snapshot.text:
            # A configuration attribute the snapshot does not know: say so (tests check).
            self.mismatch = f"rolled back to {pending.file} but the running config differs"
            log.error("%s: %s", self.core.hostname, self.mismatch)

    def show(self) -> list[str]:
        """``show archive config rollback timer``."""
        pending = self.pending
        if pending is None:
            return [NO_PENDING]
        t = time.gmtime(pending.configured)
        stamp = time.strftime(f"%H:%M:%S UTC %a %b {t.tm_mday} %Y", t)
        kind = "idle timer" if pending.idle else "absolute timer"
        return [
            f"Time configured(or reconfigured): {stamp}",
            f"Timer type: {kind}",
            f"Timer value: {pending.minutes} min",
            f"User: {pending.user}",
        ]

    def state(self) -> dict[str, Any] | None:
        """The pending timer as JSON-able data (None: none)."""
        pending = self.pending
        if pending is None:
            return None
        return {
            "file": pending.file,
            "minutes": pending.minutes,
            "idle": pending.idle,
            "user": pending.user,
            "seconds_left": round(pending.call.getTime() - self.core.clock.seconds(), 3)
            if pending.call is not None
            else None,
        }

    # -- the clock --------------------------------------------------------------------

    def _schedule(self) -> None:
        pending = self.pending
        assert pending is not None
        self._cancel()
        minute = self.core.minute_seconds
        clock = self.core.clock
        pending.call = clock.callLater(pending.minutes * minute, self.expire)
        if not pending.idle:
            delay = max(0.0, (pending.minutes - 1) * minute)
            pending.warning = clock.callLater(delay, self._tell, pending, list(WARNING))

    def _cancel(self) -> None:
        pending = self.pending
        if pending is None:
            return
        for call in (pending.call, pending.warning):
            if call is not None and call.active():
                call.cancel()
        pending.call = pending.warning = None

    @staticmethod
    def _tell(pending: PendingRevert, lines: list[str]) -> None:
        """Print on the session that started the timer, if it is still connected."""
        session = pending.session
        if session is None or not session.is_open:
            return
        proc = session.actual_processor()
        for line in lines:
            proc.write_line(line)

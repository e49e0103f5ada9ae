"""What a platform is: its validation capabilities as data, and its driver contract.

A platform package (`platforms/<name>/`) exports one `PLATFORM = Platform(...)` built
from data only (importing it must stay cheap: `validate` reads every platform), and names
its runtime Driver as "module:Class", imported only when a device is contacted.

The runner owns the order: connect → read → plan → commands → push → read → compare →
(restore) → save. A Driver is stateless: `read` returns everything it observed
(`Observed`), and every later call receives what it needs as arguments.

Two kinds of platform keep one contract, and on both what the templates lay out is what
the device gets, so a user's template override reaches it. A state-driven one (Linux lo)
renders its command template with the model plan's changes (`artifacts.render`). A
config-driven one (IOS; `Platform.config` set) reads its running configuration blocks
into `Observed.running` and sends the remediation of those blocks against the blocks its
templates render (`artifacts`). Either way, the runner calls a host converged when the model plan
is empty and `commands` is empty, and proves both again after a push. Every method
raises `DeviceError` (or `UnreachableError`, `ConnectionLostError`) with a sentence a
person can act on; never a third-party exception, never a secret.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.plan import Plan, Policy
from loopbackctl.remediation import ConfigSyntax
from loopbackctl.result import Check
from loopbackctl.routing import MeshTarget, Probe, RouterIdFact
from loopbackctl.templating import Rendered
from loopbackctl.transport.options import ConnectOptions


@dataclass(frozen=True)
class Platform:
    """One platform's rules, checked before anything is sent, and where its code lives.

    Capabilities (each a flag the inventory checks read; no code outside `platforms/`
    tests a platform's name):
    - `interface_pattern` / `interface_hint` / `interface_example`: valid loopback names
      (`interface_example` is what a near miss like `lo0` or `loopback 1` is told to
      write; `{n}` stands for the number the user wrote);
    - `max_interface_number`: the highest loopback number the device accepts;
    - `descriptions`, `max_description`, `description_forbidden`, `description_ascii`;
    - `shutdown`: a loopback may be `shutdown: true`;
    - `deletable`: loopbacks are created and removed (`state: absent`); otherwise the one
      loopback always exists and only its addresses change;
    - `host_prefixes`: loopback addresses are /32 and /128 unless the host sets
      `allow_subnet_loopbacks`;
    - `reserved_addresses`: 127/8, ::1 and link-local are refused on a loopback;
    - `router`: the device has a router-id that must be unique across the fleet;
    - `vrfs`: a loopback may forward in a VRF (`vrf: NAME`);
    - `local`: this platform's loopback is this machine's own (Linux `lo`), so local mode
      (`--local`) can manage it through the platform's driver over the local transport;
    - `heavy_sessions`: a session costs the controller tens of ms of CPU (an interactive
      CLI whose output arrives packet by packet, parsed with TextFSM), so a run of several
      such devices spreads over the machine's cores by default (fleet.processes).
    `policy` says how much of a named loopback loopbackctl owns (see plan.Policy).
    `config`: for a config-driven platform, how its configuration text is remediated
    (blocks, normalisations, hier_config's platform); None for a state-driven one.
    """

    name: str
    title: str
    interface_pattern: re.Pattern[str]
    interface_hint: str
    interface_example: str
    policy: Policy
    driver: str
    templates: tuple[tuple[str, str], ...] = ()
    aliases: tuple[str, ...] = ()
    max_interface_number: int | None = None
    descriptions: bool = False
    max_description: int | None = None
    description_forbidden: str = ""
    description_ascii: bool = False
    shutdown: bool = False
    deletable: bool = False
    host_prefixes: bool = False
    reserved_addresses: bool = False
    router: bool = False
    vrfs: bool = False
    config: ConfigSyntax | None = None
    local: bool = False
    heavy_sessions: bool = False


@dataclass(frozen=True)
class Observed:
    """Everything one read of a device found: its loopbacks (every loopback on the
    device, not only the named ones), for routers the router-id routing protocols would
    pick from that state when none is configured, and for config-driven platforms the
    running configuration block of every loopback (interface → its text as printed).

    `ip_versions`: the IP versions the device's loopbacks can hold now (Linux: IPv6 may
    be disabled on lo); `wanted` leaves out addresses of other versions. `health`: checks
    the driver judged from what it read, beyond the addresses (Linux: lo up with
    LOWER_UP, its MTU, IPv6 enabled, intended addresses it cannot hold). The runner
    reports them with the common checks; one named like a common check takes its place
    (the driver knows why, the common check only what)."""

    loopbacks: tuple[Loopback, ...]
    router_id: ipaddress.IPv4Address | None = None
    running: Mapping[str, str] = field(default_factory=dict)
    ip_versions: frozenset[int] = frozenset({4, 6})
    health: tuple[Check, ...] = ()

    def get(self, name: str) -> Loopback | None:
        return next((lb for lb in self.loopbacks if lb.name == name), None)


class Session(Protocol):
    """An open connection to one device. Methods raise DeviceError on failure.

    `sent` lists, in order, every command that may have changed the device (for the
    report, and so a refusal before anything went out needs no rollback)."""

    sent: list[str]

    def run(self, command: str) -> str:
        """Run one read-only command; return its output."""
        ...

    def configure(self, commands: Sequence[str]) -> str:
        """Send configuration commands; raise DeviceError naming the first refused one."""
        ...

    def close(self) -> None:
        """Close; never raises (a dead connection is already closed)."""
        ...


class Driver(Protocol):
    """A platform's runtime: stateless, one shared instance serves a whole fleet."""

    def connect(self, host: Host, options: ConnectOptions) -> Session:
        """Open an authenticated session, ready for `read` and `push`.

        Raises UnreachableError when the device cannot be reached, DeviceError when it
        refuses (authentication, host key)."""
        ...

    def read(self, session: Session, host: Host) -> Observed:
        """Everything observed on the device. Raises DeviceError (a ParseError) when an
        answer cannot be read: never guess "ok"."""
        ...

    def wanted(self, host: Host, observed: Observed, *, purge: bool) -> tuple[Loopback, ...]:
        """The loopbacks to plan and check: the inventory's, plus under purge what makes
        the device carry no other loopback (or address) — `absent` for every other
        loopback found where loopbacks are deletable —, plus what the platform itself
        expects on a loopback the host declares (Linux: the kernel's own addresses on
        lo); without addresses of an IP version the device cannot hold now
        (`observed.ip_versions`; `observed.health` says so). `purge` is true only for a
        host that declares its loopbacks (the runner decides, for every platform)."""
        ...

    def commands(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Rendered
    ) -> list[str]:
        """The lines that make the device as intended, in order; [] when it already is.

        `artifacts`: the host's templates (texts as `render` shows them, and rendered anew
        with other values). State-driven: `plan.changes` laid out by the platform's
        command template. Config-driven: the remediation of `observed.running` against
        the blocks `artifacts` lay out, for the interfaces of `plan.scope` only. A line
        the driver will not send (a template laying out something else) is a DeviceError
        raised here, before anything is sent."""
        ...

    def restore(
        self, host: Host, before: Observed, now: Observed, scope: Sequence[str], artifacts: Rendered
    ) -> list[str]:
        """The lines that put the `scope` interfaces back exactly as `before` read them,
        from the state `now` (after a failed change); [] when they are. State-driven: laid
        out by the same template as `commands`."""
        ...

    def push(self, session: Session, host: Host, commands: Sequence[str]) -> None:
        """Send `commands`; raise DeviceError naming the first one the device refused."""
        ...

    def save(self, session: Session, host: Host) -> None:
        """Make the verified running state persistent (IOS write memory). Called by the
        runner only after a verified change, and not under --no-save."""
        ...


@dataclass(frozen=True)
class SavedFile:
    """A persistent configuration file on a device; `content` None means it is absent."""

    path: str
    content: str | None


@runtime_checkable
class Persisting(Protocol):
    """Optional for a Driver whose persistent configuration is a file compared and written
    as part of apply (Linux netplan), so that it is idempotent and rolled back with the
    runtime change. `artifacts` are the host's rendered templates (render.render_host)."""

    def read_saved(
        self, session: Session, host: Host, artifacts: Mapping[str, str]
    ) -> tuple[SavedFile, SavedFile] | None:
        """(as on the device now, as intended), or None when the host does not persist."""
        ...

    def write_saved(self, session: Session, host: Host, want: SavedFile) -> list[str]:
        """Write `want` atomically, keeping the previous file as a backup; return the
        commands sent. Raises DeviceError and leaves the previous file in place."""
        ...

    def restore_saved(self, session: Session, host: Host, old: SavedFile) -> list[str]:
        """Put back `old` (from the backup; remove the file if `old` is absent)."""
        ...


# The health check (Observed.health) a Confirming driver reports while a revert armed on
# the device is pending: the device is about to go back to an earlier state. The runner
# leaves it out while the revert is its own (between arm and confirm).
REVERT_PENDING = "revert pending"


@dataclass(frozen=True)
class Undo:
    """What an armed revert puts back: the device as apply read it before its change.

    `before`: that read (every loopback, lo up/down, the running blocks of a
    config-driven platform); `plan` and `commands`: the change about to be sent (a
    revert may undo only what they touch, so that it leaves alone what others change on
    the device meanwhile and what the change never reached); `saved`: the persistent
    file as it was before, when this apply writes it (`content` None: absent), else None.
    A platform whose device keeps its own copy of the configuration (IOS's archive)
    may ignore all of it."""

    before: Observed
    plan: Plan
    commands: tuple[str, ...]
    saved: SavedFile | None = None


@runtime_checkable
class Confirming(Protocol):
    """Optional: the device itself undoes an apply unless the run confirms it
    (confirm-or-revert), so that no failure of the controller or of the connection can
    leave it half-changed. The runner arms before the first command of a change and
    confirms only after the change read back as intended (or the rollback did)."""

    def arm(self, session: Session, host: Host, undo: Undo, timeout: float) -> float:
        """Before the first change is sent: from now on the device puts back what `undo`
        describes by itself `timeout` seconds later (a platform may round up: IOS counts
        minutes) unless `confirm` is called, even when this session or the controller
        dies. Returns the seconds the device actually waits. DeviceError when it cannot
        arm (nothing changed then), also when a revert armed earlier (by a run that died)
        is still pending. Adds nothing to `session.sent`: arming changes nothing the report
        lists."""
        ...

    def confirm(self, session: Session, host: Host) -> None:
        """Cancel the pending revert, and prove it will not run. DeviceError when it
        cannot, or when the device already reverted (the confirm came too late)."""
        ...


@runtime_checkable
class Locking(Protocol):
    """Optional: the device itself holds apply's per-device lock (loopbackctl.locks), for
    as long as the session lives, and releases it when the session ends however it ends.
    A driver that is not Locking is locked in the controller's lock directory."""

    def lock(self, session: Session, host: Host, holder: str) -> None:
        """Take the device's apply lock for the rest of `session`, writing `holder` where
        a second run reads it. LockedError (naming the holder it read) when another run
        holds it; DeviceError when the lock cannot be taken. Adds nothing to
        `session.sent`."""
        ...


@runtime_checkable
class ChecksTemplates(Protocol):
    """Optional for a Driver that renders templates at apply time (`artifacts.render`):
    it checks them when the job is built, so a template laying out what the driver would
    not send stops the run (exit 2) before any device is contacted."""

    def check_templates(self, host: Host, artifacts: Rendered) -> None:
        """Render every branch the driver may render for `host`; TemplateError (naming the
        template, the host and the line) when a line would not be sent."""
        ...


@runtime_checkable
class ShowsBlocks(Protocol):
    """Optional for a config-driven Driver: `apply --diff` shows each configuration block
    in scope before and after (unified diff lines)."""

    def block_diff(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Mapping[str, str]
    ) -> list[str]:
        """Each block of `plan.scope` that differs, as it is and as apply makes it."""
        ...


@runtime_checkable
class Pinging(Protocol):
    """Optional: the device pings its own loopback addresses (verify --reachability)."""

    def ping_own(
        self, session: Session, host: Host, addresses: Sequence[IPInterface]
    ) -> list[str | None]:
        """Per address: None when it answered, else why not."""
        ...


@runtime_checkable
class Routing(Protocol):
    """Optional for a router's Driver: its routing daemons say which router-id each
    protocol instance uses (verify --routing)."""

    def routing_facts(self, session: Session, host: Host) -> list[RouterIdFact]:
        """Every running OSPF, OSPFv3 and BGP instance's router-id, per VRF ([] when no
        routing protocol runs). Raises DeviceError when an answer cannot be read."""
        ...


@runtime_checkable
class Meshing(Protocol):
    """Optional for a router's Driver: from the router itself, the route to each other
    router's loopback address and an echo sourced from its own loopback (the mesh of
    verify --routing)."""

    def mesh(self, session: Session, host: Host, targets: Sequence[MeshTarget]) -> list[Probe]:
        """One Probe per target, in order. Echoes go only to targets the router holds a
        route for (never a packet along a default route)."""
        ...

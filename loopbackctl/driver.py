"""The contract between the runner and a platform's runtime module.

A Driver knows one platform: how to open a session to it, which commands read the
loopbacks and how to parse them into the model, how to turn Changes into commands, how to
push them so that every refusal is detected, and how to save. It talks to a device only
through a Session. The runner owns the order: connect → read → plan → push → read →
compare → (restore) → save.

Errors: every method raises `DeviceError` (or its subclasses `UnreachableError`,
`ConnectionLostError` from loopbackctl.errors) with a message a person can act on; never
a third-party exception, and never a message that contains a password or secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.plan import Change, Policy

HostKeyMode = Literal["strict", "accept-new", "off"]


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach one device, resolved by the runner (command line > host data > default).

    host_keys has OpenSSH's StrictHostKeyChecking meaning (strict = yes, accept-new,
    off = no checking); a changed key fails the host in strict and accept-new.
    connect_timeout bounds TCP connect, SSH banner and authentication each;
    command_timeout bounds each command's answer.
    """

    host_keys: HostKeyMode = "accept-new"
    known_hosts: str = "~/.ssh/known_hosts"
    connect_timeout: float = 10.0
    command_timeout: float = 30.0


class Session(Protocol):
    """An open connection to one device. Methods raise DeviceError on failure."""

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
    policy: Policy

    def connect(self, host: Host, options: ConnectOptions) -> Session:
        """Open an authenticated session, ready for `read` and `push`.

        Raises UnreachableError when the device cannot be reached, DeviceError when it
        refuses (authentication, host key)."""
        ...

    def read(self, session: Session, host: Host) -> tuple[Loopback, ...]:
        """Observed loopbacks the inventory names (and all loopbacks, for purge/report).

        Raises DeviceError when an answer cannot be parsed: never guess "ok"."""
        ...

    def commands(self, host: Host, changes: Sequence[Change]) -> list[str]:
        """The device commands that carry out `changes`, in order."""
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


@runtime_checkable
class Pinging(Protocol):
    """Optional: the device pings its own loopback addresses (verify --reachability).

    `interface_addresses` lists every address configured on the device (all interfaces),
    so the runner pings an address from this machine only when the kernel routes it via
    one of them."""

    def interface_addresses(self, session: Session, host: Host) -> set[str]:
        """Every address on every interface of the device, without prefix length."""
        ...

    def ping_own(
        self, session: Session, host: Host, addresses: Sequence[IPInterface]
    ) -> list[str | None]:
        """Per address: None when it answered, else why not."""
        ...


@runtime_checkable
class Routing(Protocol):
    """Optional for router platforms: the router-id OSPF/BGP would pick from the state the
    last `read` of `host` found, when none is configured (None when it has no IPv4)."""

    def router_id(self, host: Host) -> str | None: ...


@runtime_checkable
class Purging(Protocol):
    """Optional: the loopbacks to plan and check for `host`. IOS adds, under purge, every
    loopback on the device that the inventory does not name, as `absent`."""

    def wanted(
        self, host: Host, observed: Sequence[Loopback], *, purge: bool = False
    ) -> tuple[Loopback, ...]: ...

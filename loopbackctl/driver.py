"""The contract between the runner and a platform's runtime module.

A Driver knows one platform: which commands read the loopbacks and how to parse them
into the model, how to turn Changes into commands, how to push them so that every
refusal is detected, and how to save. It talks to a device only through a Session.
The runner owns the order: read → plan → push → read → compare → (restore).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Change, Policy


class Session(Protocol):
    """An open connection to one device. Methods raise DeviceError on failure."""

    def run(self, command: str) -> str:
        """Run one read-only command; return its output."""
        ...

    def configure(self, commands: Sequence[str]) -> str:
        """Send configuration commands; raise DeviceError naming the first refused one."""
        ...

    def close(self) -> None: ...


class Driver(Protocol):
    policy: Policy

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
        """Make the verified running state persistent (IOS write memory, netplan...)."""
        ...

"""What a POSIX shell session offers a platform, over SSH (transport.shell) or a local
subprocess (transport.local). Light: no netmiko or paramiko import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Result:
    """One command's exit status and output (stdout and stderr, merged)."""

    command: str
    status: int
    output: str

    @property
    def ok(self) -> bool:
        return self.status == 0


class Shell(Protocol):
    """A shell with real exit statuses. `exec_many` runs every command; `configure` and
    `configure_as_root` stop at the first failure and raise DeviceError naming it; a lost
    session raises ConnectionLostError. `sent` lists what may have changed the host;
    `where` names the host in messages (user@host:port over SSH)."""

    uid: int | None
    sent: list[str]

    @property
    def where(self) -> str: ...

    def exec_many(self, commands: Sequence[str], timeout: float | None = None) -> list[Result]: ...

    def exec(self, command: str, timeout: float | None = None) -> Result: ...

    def run(self, command: str) -> str: ...

    def configure(self, commands: Sequence[str]) -> str: ...

    def configure_as_root(self, commands: Sequence[str]) -> str: ...

    def refusal(self, res: Result) -> str: ...

    def become_root(self) -> None: ...

    def write_file(self, path: str, content: bytes, mode: str = "600") -> list[str]: ...

    def read_file(self, path: str) -> bytes | None: ...

    def close(self) -> None: ...


@runtime_checkable
class HoldsLock(Protocol):
    """A shell that can hold apply's lock on its host for its lifetime (SSH; not local)."""

    def become_root(self) -> None: ...

    def hold_lock(self, holder: str) -> str | None: ...

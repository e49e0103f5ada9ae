"""One error hierarchy: everything loopbackctl raises derives from LoopbackctlError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, order=True)
class Mark:
    """A place in a source file; line and column count from 1."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in user input, printed like a compiler message."""

    mark: Mark
    message: str
    severity: Literal["error", "warning"] = "error"
    host: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"host {self.host}" if self.host else "",
                f"key {self.key}" if self.key else "",
            )
            if part
        )
        suffix = f" ({where})" if where else ""
        return f"{self.mark}: {self.severity}: {self.message}{suffix}"


class LoopbackctlError(Exception):
    """Base of every error loopbackctl raises on purpose."""

    exit_code = 1


class UsageError(LoopbackctlError):
    """Bad command line, inventory or template: nothing was contacted (exit 2)."""

    exit_code = 2


class InventoryError(UsageError):
    """The inventory has at least one error; `diagnostics` holds all of them."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = sum(1 for d in diagnostics if d.severity == "error")
        super().__init__(f"{errors} error(s) in the inventory")


class TemplateError(UsageError):
    """A template failed to load or render; the message names file and line."""


class DeviceError(LoopbackctlError):
    """A device refused, failed or could not be reached; reported for that device."""


class UnreachableError(DeviceError):
    """The device could not be reached at all (refused, timed out, no route): status
    "unreachable". Reached but refused (authentication, host key) stays a DeviceError."""


class ConnectionLostError(DeviceError):
    """An open session ended or stopped answering mid-run; the device's state is unknown
    until it is read again over a new connection."""


class ParseError(DeviceError):
    """A device's answer could not be read into the model: the host fails, never "ok"."""


class LockedError(DeviceError):
    """Another loopbackctl run holds the device's apply lock: nothing was sent."""

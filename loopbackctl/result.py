"""Per-device outcomes as data: the runner and local mode produce them, reports read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# `skipped`: a host the inventory lists that loopbackctl does not manage (never contacted).
Status = Literal["ok", "changed", "drift", "failed", "unreachable", "skipped"]
SUCCESS: frozenset[str] = frozenset({"ok", "changed"})
# Statuses that leave the exit code 0.
PASSING: frozenset[str] = SUCCESS | {"skipped"}


@dataclass(frozen=True)
class Check:
    """One named check; `ok` False with severity "warning" does not fail the host."""

    name: str
    ok: bool
    detail: str
    severity: Literal["error", "warning", "info"] = "error"


@dataclass(frozen=True)
class LiveRouterId:
    """A router-id a routing protocol instance uses on a device (verify --routing)."""

    protocol: str
    vrf: str
    router_id: str


@dataclass
class HostResult:
    """What happened on one device. `error` is one sentence a person can act on."""

    name: str
    platform: str
    status: Status
    changes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    commands: list[str] = field(default_factory=list)
    diff: str | None = None
    unmanaged: list[str] = field(default_factory=list)
    rollback: str | None = None
    router_id: str | None = None
    router_ids: list[LiveRouterId] = field(default_factory=list)
    duration: float = 0.0

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.ok and c.severity == "error"]


def exit_code(results: list[HostResult]) -> int:
    """0 when every device is as intended (or skipped: not managed), else 1."""
    return 0 if all(r.status in PASSING for r in results) else 1

"""Where a lab or test bed is recorded, who owns it, and the names it may use.

Every lab and bed has a *prefix*, ``lb`` + 6 hex digits, and a state directory
``BASE_DIR/<prefix>/`` holding ``owner.pid`` (PID and start time of its owner) and
``state.json`` (everything it made). Its kernel objects carry the prefix, exactly:

- network namespaces ``<prefix>h<N>`` (Linux hosts), ``<prefix>r<N>`` (FRR routers) and
  ``<prefix>i<N>`` (IOS routers), one letter per device kind;
- root-namespace links ``<prefix>v<N>`` (the root side of each device's veth) and
  ``<prefix>b<K>`` (the bridge of management slot K).

The owner of a test bed is the process that built it (pytest). The owner of a lab is its
*keeper*: the process that built it, which then lives on (as ``python -m
loopbackctl.lab.keeper``) until ``lab down``. An owner is dead when no live process has
its PID and start time. Reaping removes labs and beds whose owner is dead, and only those
whose directory name and kernel object names match the patterns above in full.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopbackctl.lab import netns
from loopbackctl.lab.errors import LabError

BASE_DIR = Path("/run/loopbackctl")
PREFIX_RE = re.compile(r"lb[0-9a-f]{6}")
KEEPER_MODULE = "loopbackctl.lab.keeper"


def netns_pattern(prefix: str) -> re.Pattern[str]:
    """The names of the prefix's network namespaces, exactly: the prefix, one lower-case
    letter per device kind (h Linux hosts, r FRR routers, i IOS routers), the number.
    Any letter, not only today's kinds': a lab built by a newer version with a kind this
    one does not know is still reaped whole."""
    return re.compile(re.escape(prefix) + r"[a-z][1-9][0-9]{0,3}")


def link_pattern(prefix: str) -> re.Pattern[str]:
    """The names of the prefix's root-namespace links (veths and bridges), exactly."""
    return re.compile(re.escape(prefix) + r"(v[1-9][0-9]{0,3}|b[0-9]{1,2})")


@dataclass(frozen=True)
class Owner:
    """A process, by PID and start time (so a reused PID is not the owner)."""

    pid: int
    start: int | None

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getpid(), netns.proc_start_time(os.getpid()))

    @classmethod
    def read(cls, state_dir: Path) -> Owner | None:
        try:
            parts = (state_dir / "owner.pid").read_text().split()
            return cls(int(parts[0]), int(parts[1]) if len(parts) > 1 else None)
        except (OSError, ValueError, IndexError):
            return None

    def alive(self) -> bool:
        now = netns.proc_start_time(self.pid)
        return now is not None and (self.start is None or now == self.start)

    def is_keeper(self, state_dir: Path) -> bool:
        """A live keeper (or lab builder) of this state directory."""
        line = netns.cmdline(self.pid)
        return self.alive() and KEEPER_MODULE in line and str(state_dir) in line

    def text(self) -> str:
        return f"{self.pid} {self.start if self.start is not None else ''}".strip() + "\n"


@contextlib.contextmanager
def locked(base_dir: Path) -> Iterator[None]:
    """The machine-wide lock for claiming prefixes and slots, and for reaping."""
    base_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(base_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def claim(base_dir: Path, owner: Owner) -> Path:
    """A new state directory with a fresh prefix (call under `locked`); its owner file is
    in place before the directory appears under its name."""
    existing = set(os.listdir(base_dir))
    links = {str(link.get("ifname", "")) for link in netns.ip_json(["link", "show"])}
    spaces = set(os.listdir(netns.NETNS_DIR)) if os.path.isdir(netns.NETNS_DIR) else set()
    for _ in range(100):
        prefix = "lb" + secrets.token_hex(3)
        used = prefix in existing or any(n.startswith(prefix) for n in links | spaces)
        if not used:
            break
    else:
        raise LabError("could not find a free lab prefix")
    tmp = base_dir / f".{prefix}.tmp"
    tmp.mkdir(mode=0o700)
    (tmp / "owner.pid").write_text(owner.text())
    os.rename(tmp, base_dir / prefix)
    return base_dir / prefix


def set_owner(state_dir: Path, owner: Owner) -> None:
    """Hand the state directory to another owner (atomically)."""
    tmp = state_dir / "owner.pid.tmp"
    tmp.write_text(owner.text())
    os.replace(tmp, state_dir / "owner.pid")


def write_state(state_dir: Path, data: Mapping[str, Any]) -> None:
    """state.json, replaced atomically."""
    tmp = state_dir / "state.json.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, state_dir / "state.json")


def read_state(state_dir: Path) -> dict[str, Any]:
    """state.json, or {} when missing or unreadable."""
    try:
        data = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def state_dirs(base_dir: Path) -> list[Path]:
    """State directories under base_dir whose name is exactly a prefix."""
    if not base_dir.is_dir():
        return []
    return [
        entry
        for entry in sorted(base_dir.iterdir())
        if PREFIX_RE.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink()
    ]


def taken_slots(base_dir: Path, mine: Path | None = None) -> set[int]:
    """Slots recorded by every other lab or bed under base_dir."""
    taken: set[int] = set()
    for entry in state_dirs(base_dir):
        if entry != mine:
            slots = read_state(entry).get("slots", [])
            taken |= {s for s in slots if isinstance(s, int)}
    return taken

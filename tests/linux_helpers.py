"""Helpers for the Linux fleet tests on the namespace bed (tests/bed): run the CLI
in-process, inspect a host's lo, watch it for changes, cut its SSH sessions."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.bed.netns import IP, LinuxBed
from tests.clirun import Run, run_cli


@dataclass
class Fleet:
    """A bed plus its inventory; `run` calls `loopbackctl.cli.main` in this process."""

    bed: LinuxBed
    inventory: Path
    known_hosts: Path

    def run(self, *argv: str, env: Mapping[str, str] | None = None) -> Run:
        return run_cli(self.inventory, self.known_hosts, argv, env)

    def edit_hosts(self, **per_host: Mapping[str, Any]) -> None:
        """Merge fields into hosts.yaml entries (e.g. connection_options, password)."""
        path = self.inventory / "hosts.yaml"
        doc = yaml.safe_load(path.read_text())
        for name, fields in per_host.items():
            doc[name].update(fields)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


def fleet(
    bed: LinuxBed,
    tmp: Path,
    loopbacks: Mapping[str, list[dict[str, Any]]] | None = None,
    **kw: Any,
) -> Fleet:
    inv = bed.write_inventory(tmp / "inventory", loopbacks=loopbacks, **kw)
    kh = tmp / "known_hosts"
    kh.write_text("")
    return Fleet(bed, inv, kh)


def lo(bed: LinuxBed, host: str) -> tuple[bool, frozenset[str]]:
    """(lo is up, its addresses as "addr/len")."""
    return bed.lo_is_up(host), frozenset(a for _, a in bed.lo_addresses(host))


def ip_lo(bed: LinuxBed, host: str, *argv: str) -> None:
    """`ip ARGV` inside the host's namespace (set up a test's starting state)."""
    bed.exec(host, [IP, *argv], check=True)


@contextlib.contextmanager
def watch(bed: LinuxBed, hosts: Sequence[str]) -> Iterator[dict[str, str]]:
    """Record every link/address event on the hosts' lo (`ip monitor`), as an independent
    witness that nothing was changed. Yields {host: events on lo} filled in at exit."""
    events: dict[str, str] = {}
    procs = []
    for h in hosts:
        p = subprocess.Popen(
            [IP, "-n", bed[h].netns, "monitor", "link", "address"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append((h, p))
    time.sleep(0.2)  # let the monitors subscribe before the run starts
    try:
        yield events
    finally:
        time.sleep(0.2)
        for h, p in procs:
            p.send_signal(signal.SIGTERM)
            out, _ = p.communicate(timeout=5)
            events[h] = "".join(x for x in out.splitlines(True) if re.search(r"\blo\b", x))


def descendants(pid: int) -> list[int]:
    """All descendants of `pid` (children first), from /proc/<pid>/task/*/children."""
    out: list[int] = []
    todo = [pid]
    while todo:
        cur = todo.pop()
        for task in Path(f"/proc/{cur}/task").glob("*"):
            with contextlib.suppress(OSError):
                kids = [int(k) for k in (task / "children").read_text().split()]
                out += kids
                todo += kids
    return out


def kill_sessions(bed: LinuxBed, host: str) -> list[int]:
    """SIGKILL every process below the host's listening sshd: its open SSH sessions die,
    the listener stays (a reconnect works). Only processes this bed started."""
    pid = bed[host].sshd_pid
    assert pid is not None, f"{host} has no sshd"
    victims = descendants(pid)
    for v in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(v, signal.SIGKILL)
    return victims


def other_key_line(address: str, tmp: Path) -> str:
    """A known_hosts line for `address` with a freshly made key (not the bed's)."""
    key = tmp / "other_host_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    kind, b64 = (tmp / "other_host_key.pub").read_text().split()[:2]
    return f"{address} {kind} {b64}\n"

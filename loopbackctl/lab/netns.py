"""Primitives over iproute2 and /proc: commands, namespaces, processes, signals.

Nothing here knows what a lab is; `state`, `nodes` and `build` use these to create and
remove what a lab is made of. Processes are always found and stopped by PID (and checked
by start time, so a reused PID is never mistaken for ours).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from types import FrameType
from typing import Any

from loopbackctl.lab.errors import LabError

IP = "/usr/sbin/ip"
UNSHARE = "/usr/bin/unshare"
NSENTER = "/usr/bin/nsenter"
NETNS_DIR = "/run/netns"

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network


def run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run argv (no shell); LabError with its stderr when `check` and it fails."""
    res = subprocess.run(
        list(argv), input=input, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and res.returncode != 0:
        raise LabError(
            f"command failed (rc={res.returncode}): {' '.join(argv)}: "
            f"{res.stderr.strip() or res.stdout.strip()}"
        )
    return res


def ip_batch(lines: Iterable[str], *, netns: str | None = None, force: bool = False) -> None:
    """Run iproute2 commands in one process (`ip [-n NS] [-force] -batch -`); with `force`
    every line is tried and failures are ignored (teardown)."""
    text = "".join(line + "\n" for line in lines)
    if not text:
        return
    argv = [IP]
    if netns is not None:
        argv += ["-n", netns]
    if force:
        argv.append("-force")
    argv += ["-batch", "-"]
    run(argv, input=text, check=not force)


def ip_json(argv: Sequence[str]) -> list[dict[str, Any]]:
    """`ip -j ARGV` as a list of objects (empty when ip prints nothing)."""
    out = run([IP, "-j", *argv]).stdout.strip()
    data = json.loads(out) if out else []
    return data if isinstance(data, list) else []


def run_many(jobs: Sequence[tuple[Sequence[str], str | None]], parallel: int = 32) -> list[str]:
    """Run (argv, stdin text) jobs, `parallel` at a time (bounded: each holds two pipes);
    returns one line per failed job."""
    errors: list[str] = []
    for start in range(0, len(jobs), parallel):
        procs = []
        for argv, text in jobs[start : start + parallel]:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert proc.stdin is not None
            proc.stdin.write(text or "")
            proc.stdin.close()
            procs.append((argv, proc))
        for argv, proc in procs:
            assert proc.stderr is not None
            err = proc.stderr.read()
            proc.stderr.close()
            if proc.wait(timeout=120) != 0:
                errors.append(f"{' '.join(argv)}: {err.strip()}")
    return errors


def netns_names(pattern: re.Pattern[str]) -> list[str]:
    """Named network namespaces (`ip netns`) whose whole name matches `pattern`."""
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if pattern.fullmatch(n))
    except FileNotFoundError:
        return []


def link_names(pattern: re.Pattern[str]) -> list[str]:
    """Links of the root namespace whose whole name matches `pattern`."""
    return [
        str(link["ifname"])
        for link in ip_json(["link", "show"])
        if pattern.fullmatch(str(link.get("ifname", "")))
    ]


def machine_networks() -> list[IPNet]:
    """Every network this machine's root namespace has an address in or a route to
    (unreachable, blackhole and prohibit routes lead nowhere: they hold no address)."""
    nets: list[IPNet] = []
    for link in ip_json(["addr", "show"]):
        for a in link.get("addr_info", []):
            with contextlib.suppress(ValueError, KeyError):
                nets.append(ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", False))
    for family in ("-4", "-6"):
        for r in ip_json([family, "route", "show", "table", "all"]):
            dst = str(r.get("dst", ""))
            if r.get("type") in ("unreachable", "blackhole", "prohibit"):
                continue
            if dst and dst != "default":
                with contextlib.suppress(ValueError):
                    nets.append(ipaddress.ip_network(dst, strict=False))
    return nets


# ----------------------------------------------------------------------------- processes


def proc_start_time(pid: int) -> int | None:
    """Start time (clock ticks since boot) of a live, non-zombie process, else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    return proc_start_time(pid) is not None


def exe(pid: int) -> str | None:
    """The process's executable, or None when it is gone (or a kernel thread)."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def cmdline(pid: int) -> str:
    """The process's command line, arguments joined by spaces ('' when gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pids_in_netns(netns_names: Iterable[str]) -> dict[str, list[int]]:
    """Processes whose network namespace is one of the named ones (by nsfs inode)."""
    inodes: dict[tuple[int, int], str] = {}
    for name in netns_names:
        with contextlib.suppress(OSError):
            st = os.stat(f"{NETNS_DIR}/{name}")
            inodes[(st.st_dev, st.st_ino)] = name
    found: dict[str, list[int]] = {}
    if not inodes:
        return found
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue
        owner = inodes.get((st.st_dev, st.st_ino))
        if owner is not None:
            found.setdefault(owner, []).append(int(entry.name))
    return found


def signal_and_wait(
    pids: Iterable[int], procs: Iterable[subprocess.Popen[bytes]] = (), timeout: float = 3.0
) -> list[int]:
    """SIGTERM, wait until gone, then SIGKILL what is left. Returns PIDs that survived.

    `procs` are our own children: they are waited for (no zombie is left behind)."""
    children = {p.pid: p for p in procs}
    pending = set(pids) | set(children)

    def gone(pid: int) -> bool:
        child = children.get(pid)
        if child is not None:
            return child.poll() is not None
        return not alive(pid)

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in sorted(pending):
            if not gone(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        pending = _wait_gone(pending, gone, timeout)
        if not pending:
            break
    for child in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
    return sorted(pending)


def _wait_gone(pending: set[int], gone: Any, timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    delay = 0.002
    while pending and time.monotonic() < deadline:
        pending = {pid for pid in pending if not gone(pid)}
        if pending:
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    return {pid for pid in pending if not gone(pid)}


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while tearing down (main thread only), deliver them after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_to_keyboard_interrupt() -> bool:
    """Make SIGTERM raise KeyboardInterrupt, so a `with Lab(...)` still tears down.

    Call it from the main thread. Installs the handler only where SIGTERM still has its
    default action; returns True if installed now or earlier.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    if current is _raise_keyboard_interrupt:
        return True
    if current not in (signal.SIG_DFL, None):
        return False
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    return True

"""The kernel, read and changed: `ip`, /proc, capabilities, network namespaces.

Everything here acts in the calling thread's network namespace; `inside_netns` moves the
calling thread for a while (threads and processes it starts meanwhile inherit it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from loopbackctl.errors import UsageError
from loopbackctl.local.state import Ipv6Status, LoState, ParseError, ipv6_status, parse_ip_addr

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
CAP_SYS_ADMIN = 21
# Non-root users often have no sbin in PATH; iproute2 lives there on Debian.
_IP_CANDIDATES = ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")


class LocalError(Exception):
    """The kernel could not be read or changed; the message is one sentence."""


@dataclass(frozen=True)
class IpRun:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def ip_binary() -> str:
    for path in _IP_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return "ip"


def run_ip(*args: str) -> IpRun:
    """Run `ip ARGS`; raise LocalError only when ip cannot be started at all."""
    argv = (ip_binary(), *args)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
    except FileNotFoundError:
        raise LocalError("the ip command (iproute2) was not found; install iproute2") from None
    except subprocess.TimeoutExpired:
        raise LocalError(f"`ip {' '.join(args)}` did not finish within 10 s") from None
    return IpRun(argv, done.returncode, done.stdout, done.stderr.strip())


def read_lo() -> LoState | None:
    """lo's link and addresses; None when there is no lo. Raises LocalError."""
    done = run_ip("-j", "addr", "show", "dev", "lo")
    if done.returncode != 0:
        if "does not exist" in done.stderr:
            return None
        raise LocalError(f"`ip -j addr show dev lo` failed: {done.stderr or done.returncode}")
    try:
        return parse_ip_addr(done.stdout)
    except ParseError as exc:
        raise LocalError(f"`ip -j addr show dev lo`: {exc}") from None


def read_ipv6_status() -> Ipv6Status:
    try:
        with open("/proc/sys/net/ipv6/conf/lo/disable_ipv6") as f:
            value: str | None = f.read()
    except OSError:
        value = None
    return ipv6_status(value, os.path.isdir("/proc/sys/net/ipv6"))


def read_sysctl(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def effective_caps() -> int:
    """CapEff of this process as a bit set (0 when /proc cannot say)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def has_cap(bit: int) -> bool:
    return bool(effective_caps() >> bit & 1)


def netns_path(name: str) -> str:
    """/run/netns/NAME for a namespace `ip netns` lists; UsageError naming it otherwise."""
    if not name or "/" in name or name in (".", ".."):
        raise UsageError(f"{name!r} is not a network namespace name (see `ip netns list`)")
    path = os.path.join(NETNS_DIR, name)
    if not os.path.exists(path):
        raise UsageError(f"network namespace {name!r} does not exist (`ip netns list` shows them)")
    return path


def _setns(fd: int) -> int:
    """setns(fd, CLONE_NEWNET) for the calling thread; 0 or the errno. (os.setns is 3.12+.)"""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if int(libc.setns(fd, CLONE_NEWNET)) != 0:
        return ctypes.get_errno() or errno.EINVAL
    return 0


@contextlib.contextmanager
def inside_netns(name: str | None) -> Iterator[None]:
    """Run the body in the named network namespace (None: where we are), then return.

    Only the calling thread moves; threads and processes it starts inside inherit the
    namespace. UsageError, naming the namespace, when it is unknown or cannot be entered.
    """
    if name is None:
        yield
        return
    path = netns_path(name)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"cannot open network namespace {name!r}: {exc.strerror}") from None
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        err = _setns(target)
        if err == errno.EPERM:
            raise UsageError(
                f"entering network namespace {name!r} needs CAP_SYS_ADMIN,"
                " which this process lacks; run it as root"
            )
        if err:
            raise UsageError(
                f"cannot enter network namespace {name!r}: {os.strerror(err)}"
                " (is it a namespace made by `ip netns add`?)"
            )
        try:
            yield
        finally:
            err = _setns(original)
            if err:
                raise LocalError(
                    f"cannot return from network namespace {name!r}: {os.strerror(err)}"
                )
    finally:
        os.close(target)
        os.close(original)

"""This machine's kernel as local mode needs it: network namespaces, capabilities, and
lo's state for the checks that send packets.

Everything here acts in the calling thread's network namespace; `inside_netns` moves the
calling thread for a while (threads and processes it starts meanwhile inherit it).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

from loopbackctl.errors import DeviceError, ParseError, UsageError
from loopbackctl.platforms.linux import parse
from loopbackctl.transport.local import CAP_NET_ADMIN, LocalShell, has_cap

__all__ = ["CAP_NET_ADMIN", "has_cap", "inside_netns", "lo_up", "netns_path", "read_ipv6_status"]

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000


def read_ipv6_status() -> parse.Ipv6Status:
    """Whether lo can carry IPv6 here (the ::1 round trips are n/a when it cannot), read
    as the driver reads it, from /proc directly: the packet checks start before the
    driver's read."""
    try:
        if not os.path.isdir(parse.IPV6_SYSCTLS):
            return parse.ipv6_status("none")
        with open(parse.DISABLE_IPV6) as f:
            return parse.ipv6_status(f.read())
    except (OSError, ParseError) as exc:
        return parse.Ipv6Status(False, f"{parse.DISABLE_IPV6_SYSCTL} cannot be read ({exc})")


def lo_up() -> bool | None:
    """Whether lo is UP here; None when that cannot be told."""
    try:
        res = LocalShell("this machine").exec(f"ip -j link show dev {parse.LO}", timeout=5)
        state = parse.parse_ip_addr(res.output) if res.ok else None
    except (DeviceError, ParseError):
        return None
    return state.up if state is not None else None


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
    namespace. UsageError, naming the namespace, when it is unknown or cannot be entered;
    DeviceError when the thread cannot return to its own namespace.
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
                raise DeviceError(
                    f"cannot return from network namespace {name!r}: {os.strerror(err)}"
                )
    finally:
        os.close(target)
        os.close(original)

"""ICMP echo to a loopback address: N probes back to back, statistics as ping prints them.

Socket choice, in order: an unprivileged ping socket (SOCK_DGRAM, allowed when a group of
this process is inside net.ipv4.ping_group_range), then a raw socket (needs CAP_NET_RAW).
When neither opens, `Unavailable` says why in words.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import time
from dataclasses import dataclass

from loopbackctl.errors import DeviceError

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
PAYLOAD = bytes(range(56))  # ping's default size: 64 bytes of ICMP
PING_GROUP_RANGE = "/proc/sys/net/ipv4/ping_group_range"


class Unavailable(DeviceError):
    """Neither a ping socket nor a raw socket could be opened; str() says why."""


@dataclass(frozen=True)
class Echo:
    """What N echo requests got: `rtts` in seconds, one per reply; `error` when sending failed."""

    sent: int
    rtts: tuple[float, ...]
    method: str
    error: str | None = None
    errno: int | None = None

    @property
    def received(self) -> int:
        return len(self.rtts)


def stats_ms(rtts: tuple[float, ...]) -> tuple[float, float, float, float]:
    """min/avg/max/mdev in milliseconds, mdev as ping computes it (sqrt(E[x²] - E[x]²))."""
    ms = [r * 1000.0 for r in rtts]
    avg = sum(ms) / len(ms)
    mean_sq = sum(x * x for x in ms) / len(ms)
    return min(ms), avg, max(ms), math.sqrt(max(mean_sq - avg * avg, 0.0))


def summary(echo: Echo) -> str:
    """ping's two summary lines folded into one."""
    loss = 100.0 * (echo.sent - echo.received) / echo.sent if echo.sent else 100.0
    text = f"{echo.sent} sent, {echo.received} received, {loss:.0f}% loss"
    if echo.rtts:
        lo, avg, hi, mdev = stats_ms(echo.rtts)
        text += f", rtt min/avg/max/mdev = {lo:.3f}/{avg:.3f}/{hi:.3f}/{mdev:.3f} ms"
    return f"{text} ({echo.method})"


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    words: tuple[int, ...] = struct.unpack(f"!{len(data) // 2}H", data)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def request(family: socket.AddressFamily, ident: int, seq: int) -> bytes:
    """An echo request; the checksum is filled in for IPv4 (the kernel does it for ICMPv6)."""
    header = struct.pack("!BBHHH", ECHO_REQUEST[family], 0, 0, ident, seq)
    if family == socket.AF_INET:
        header = struct.pack(
            "!BBHHH", ECHO_REQUEST[family], 0, checksum(header + PAYLOAD), ident, seq
        )
    return header + PAYLOAD


def parse_reply(
    family: socket.AddressFamily, raw: bool, data: bytes
) -> tuple[int, int, int] | None:
    """(type, id, seq) of an ICMP message as received; raw IPv4 sockets include the IP header."""
    if raw and family == socket.AF_INET:
        if len(data) < 20:
            return None
        data = data[(data[0] & 0x0F) * 4 :]
    if len(data) < 8:
        return None
    kind, _code, _sum, ident, seq = struct.unpack("!BBHHH", data[:8])
    return kind, ident, seq


def why_no_ping_socket() -> str:
    groups = sorted({os.getegid(), *os.getgroups()})
    try:
        with open(PING_GROUP_RANGE) as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return f"ping sockets are not allowed ({PING_GROUP_RANGE} unreadable)"
    shown = ",".join(str(g) for g in groups)
    return (
        f"ping sockets are not allowed: net.ipv4.ping_group_range is {low} {high}"
        f" and does not include gid {shown}"
    )


def open_socket(family: socket.AddressFamily) -> tuple[socket.socket, bool]:
    """(socket, raw?) for ICMP echo; raise Unavailable with both reasons."""
    proto = PROTO[family]
    try:
        return socket.socket(family, socket.SOCK_DGRAM, proto), False
    except PermissionError:
        dgram_reason = why_no_ping_socket()
    except OSError as exc:
        dgram_reason = f"ping sockets are not available ({exc.strerror})"
    try:
        return socket.socket(family, socket.SOCK_RAW, proto), True
    except PermissionError:
        raw_reason = "raw ICMP sockets need CAP_NET_RAW, which this process lacks"
    except OSError as exc:
        raw_reason = f"raw ICMP sockets are not available ({exc.strerror})"
    raise Unavailable(f"{dgram_reason}; {raw_reason}")


def echo(address: str, count: int, timeout: float) -> Echo:
    """Send `count` echo requests one after another, each waiting at most timeout/count
    for its reply (loopback answers in microseconds). Raises Unavailable."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock, raw = open_socket(family)
    method = "raw socket" if raw else "ping socket"
    # A ping socket's id is set by the kernel and replies reach only that socket.
    ident = (os.getpid() ^ int.from_bytes(os.urandom(2), "big")) & 0xFFFF
    reply_type = ECHO_REPLY[family]
    per_probe = timeout / count
    rtts: list[float] = []
    sent = 0
    with sock:
        for seq in range(1, count + 1):
            packet = request(family, ident, seq)
            start = time.perf_counter()
            try:
                sock.sendto(packet, (address, 0))
            except OSError as exc:
                return Echo(sent, tuple(rtts), method, exc.strerror, exc.errno)
            sent += 1
            deadline = start + per_probe
            while (remaining := deadline - time.perf_counter()) > 0:
                sock.settimeout(remaining)
                try:
                    data, peer = sock.recvfrom(2048)
                except TimeoutError:
                    break
                now = time.perf_counter()
                got = parse_reply(family, raw, data)
                if got is None or got[0] != reply_type or got[2] != seq:
                    continue
                if raw and (got[1] != ident or peer[0] != address):
                    continue
                rtts.append(now - start)
                break
    return Echo(sent, tuple(rtts), method)

"""ICMP echo from this machine, fenced: only 127.0.0.0/8, ::1, 198.18.0.0/15 and
2001:db8::/32 are ever pinged (test and benchmarking ranges), and only when the kernel
routes the address via the host it belongs to. Light: subprocess only."""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import subprocess

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.IPv4Network("127.0.0.0/8"),
    ipaddress.IPv6Network("::1/128"),
    ipaddress.IPv4Network("198.18.0.0/15"),
    ipaddress.IPv6Network("2001:db8::/32"),
)


def allowed(ip: IPAddress) -> bool:
    return any(ip.version == net.version and ip in net for net in ALLOWED)


def refuse_unless_allowed(ip: IPAddress) -> None:
    if not allowed(ip):
        raise ValueError(
            f"refusing to ping {ip}: only {', '.join(map(str, ALLOWED))} may be pinged"
        )


def addresses_of(hostname: str) -> set[str]:
    """The addresses `hostname` is (itself if it is one; a DNS lookup otherwise; empty
    when it does not resolve)."""
    try:
        return {str(ipaddress.ip_address(hostname))}
    except ValueError:
        pass
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(hostname, None)}
    except OSError:
        return set()


def route_gateway(ip: IPAddress) -> str | None:
    """The next hop this machine's kernel would use for `ip` (`ip route get`, sends
    nothing), or None when it is reached without a gateway or not at all."""
    tool = shutil.which("ip") or "/usr/sbin/ip"
    try:
        res = subprocess.run(
            [tool, "-j", "route", "get", str(ip)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        routes = json.loads(res.stdout) if res.returncode == 0 and res.stdout.strip() else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not routes or not isinstance(routes, list) or not isinstance(routes[0], dict):
        return None
    gw = routes[0].get("gateway")
    return str(gw) if gw else None


def ping(ip: IPAddress, timeout: float = 1.0) -> str | None:
    """None when `ip` answered one echo request within `timeout`, else why not."""
    refuse_unless_allowed(ip)
    tool = shutil.which("ping")
    if tool is None:
        return "ping is not installed here (Debian package iputils-ping)"
    wait = max(1, round(timeout))
    try:
        res = subprocess.run(
            [tool, "-n", "-q", "-c", "1", "-W", str(wait), str(ip)],
            capture_output=True,
            text=True,
            timeout=wait + 5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"no answer within {wait}s"
    if res.returncode == 0:
        return None
    return f"no answer within {wait}s" if res.returncode == 1 else res.stderr.strip()[:200]

"""ICMP echo from this machine (verify --reachability), fenced by a destination allow-list.

The allow-list is the user's: `--ping-allow CIDR,...`, else `$LOOPBACKCTL_PING_ALLOW`, else
127.0.0.0/8 and ::1/128 only (this machine itself: nothing leaves it unless a person said
where packets may go). An address outside it is never pinged, whatever calls `ping`.
Light: subprocess only.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from collections.abc import Sequence

from loopbackctl.errors import UsageError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
AllowList = tuple[IPNetwork, ...]

ENV = "LOOPBACKCTL_PING_ALLOW"
DEFAULT_ALLOW: AllowList = (
    ipaddress.IPv4Network("127.0.0.0/8"),
    ipaddress.IPv6Network("::1/128"),
)
OUTSIDE = f"not pinged (outside allow-list; set {ENV} or --ping-allow)"


def parse_allow(text: str, where: str) -> AllowList:
    """`CIDR,CIDR,...` (blanks around entries allowed; empty: nothing may be pinged).
    UsageError naming `where` (the option or the variable) and the entry."""
    nets: list[IPNetwork] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as exc:
            raise UsageError(
                f"{where}: {entry!r} is not a network ({exc}); write CIDRs separated by"
                " commas, e.g. 10.255.0.0/16,2001:db8::/32"
            ) from None
    return tuple(nets)


def allow_list(option: str | None = None) -> AllowList:
    """The destinations this machine may ping: `option`, else the environment, else
    127.0.0.0/8 and ::1/128. UsageError for an entry that is not a network."""
    if option is not None:
        return parse_allow(option, "--ping-allow")
    env = os.environ.get(ENV)
    if env is not None:
        return parse_allow(env, f"${ENV}")
    return DEFAULT_ALLOW


def allowed(ip: IPAddress, allow: Sequence[IPNetwork] | None = None) -> bool:
    """True when `ip` lies in `allow` (default: `allow_list()`)."""
    nets = allow_list() if allow is None else allow
    return any(ip.version == net.version and ip in net for net in nets)


def ping(
    ip: IPAddress, timeout: float = 1.0, allow: Sequence[IPNetwork] | None = None
) -> str | None:
    """None when `ip` answered one echo request within `timeout`, else why not. Refuses
    (ValueError) an address outside the allow-list: nothing is sent."""
    if not allowed(ip, allow):
        raise ValueError(f"refusing to ping {ip}: outside the ping allow-list")
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

"""`probe ADDRESS:PORT`: is something listening on a loopback port, and if not, why. Pure.

The connect itself is roundtrip.connect_outcome; this module parses the target and puts
the outcome into words.
"""

from __future__ import annotations

import errno
import ipaddress

from loopbackctl.errors import UsageError
from loopbackctl.local.roundtrip import explain_errno, hostport


def parse_target(text: str) -> tuple[str, int]:
    """ "127.0.0.1:8080" or "[::1]:8080" → (address, port); UsageError for anything that is
    not a loopback address (127.0.0.0/8, ::1) with a port 1-65535."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise UsageError(f"{text!r} is not ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise UsageError(f"write an IPv6 address in brackets, e.g. [::1]:{port_text}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UsageError(f"{port_text!r} is not a port number (1-65535)")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(
            f"{host!r} is not an IP address; probe takes a loopback address such as"
            " 127.0.0.1 or [::1]"
        ) from None
    if not address.is_loopback:
        raise UsageError(
            f"probe only reaches loopback addresses (127.0.0.0/8, ::1), and {address} is not one"
        )
    return str(address), int(port_text)


def explain(
    address: str,
    port: int,
    outcome: str,
    ms: float,
    err: int | None,
    timeout: float,
    lo_up: bool | None,
) -> tuple[bool, str]:
    """(listening?, one sentence) for a connect outcome from roundtrip.connect_outcome."""
    target = hostport(address, port)
    if outcome == "connected":
        return True, f"something is listening on {target} (connected in {ms:.2f} ms)"
    if outcome == "refused":
        return False, (
            f"nothing is listening on {target}: the kernel refused the connection at once"
            f" ({ms:.2f} ms), so lo works and no program has that port open"
        )
    if outcome == "timeout":
        if lo_up is False:
            cause = "lo is DOWN (it keeps its IPv4 addresses but carries no packets)"
        else:
            cause = (
                "packets are being dropped: a firewall rule on lo (see `nft list ruleset`), or a"
                " program that listens there but does not accept connections (its backlog is"
                " full)"
            )
        return False, f"no answer from {target} within {timeout:g} s; likely cause: {cause}"
    if err == errno.EADDRNOTAVAIL:
        return False, (
            f"cannot reach {target}: {address} is not assigned to lo here"
            " (removed, or IPv6 disabled); `loopbackctl verify --local` shows which"
        )
    return False, f"cannot reach {target}: {explain_errno(err, address)}"

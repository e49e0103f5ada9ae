"""Local mode's own checks: what only this machine can test about its lo (packets over lo,
the resolver) and which inventory host it is. Each gives a Check; none raises.

The checks that send packets run concurrently in threads started by the calling thread,
so they run in its network namespace. Severity: "error" fails the run; "warning" is
reported and does not; "info" with ok=False means "not applicable" (IPv6 disabled).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

from loopbackctl.local import icmp, roundtrip
from loopbackctl.platforms.linux.parse import Ipv6Status
from loopbackctl.result import Check

# Loopback answers in microseconds; this only bounds a broken lo (packets dropped).
TIMEOUT = 0.5
OTHER_LOOPBACK = "127.0.0.2"
ICMP_HEAD_START = 0.05


def not_applicable(name: str, ipv6: Ipv6Status) -> Check:
    return Check(name, False, f"not applicable: IPv6 is disabled ({ipv6.reason})", "info")


def inventory_check(inventory_host: str | None, how: str, extra: int) -> Check:
    """Which inventory host stands for this machine, and how many addresses it adds."""
    if inventory_host is None:
        return Check("inventory", True, f"{how}; no extra addresses expected")
    return Check("inventory", True, f"{how}: {extra} extra address(es) on lo expected")


def unmanaged_check(unmanaged: Sequence[str]) -> Check:
    """Addresses on lo nobody named: listed, never a failure (apply --local leaves them)."""
    if unmanaged:
        shown = ", ".join(unmanaged)
        return Check(
            "unmanaged", True, f"on lo but not named by the inventory (left alone): {shown}"
        )
    return Check("unmanaged", True, "none: lo holds only the addresses named above")


def _icmp_check(name: str, address: str, probes: int, timeout: float) -> Check:
    try:
        got = icmp.echo(address, probes, timeout)
    except icmp.Unavailable as exc:
        return Check(name, False, f"could not send ICMP echo: {exc}", "warning")
    if got.error is not None:
        return Check(
            name,
            False,
            f"could not send ICMP echo to {address}: {roundtrip.explain_errno(got.errno, address)}"
            f" ({got.method})",
        )
    return Check(name, got.received == probes, icmp.summary(got))


def _jobs(ipv6: Ipv6Status, probes: int, timeout: float) -> list[tuple[str, Callable[[], Check]]]:
    """The checks that send packets, in report order; ::1 ones are n/a without IPv6."""
    jobs: list[tuple[str, Callable[[], Check]]] = []
    for kind in ("icmp", "http", "refused"):
        for address in ("127.0.0.1", "::1"):
            name = f"{kind} {address}"
            if address == "::1" and not ipv6.enabled:
                jobs.append((name, partial(not_applicable, name, ipv6)))
            elif kind == "icmp":
                jobs.append((name, partial(_icmp_check, name, address, probes, timeout)))
            elif kind == "http":
                jobs.append((name, partial(roundtrip.http_check, name, address, timeout)))
            else:
                jobs.append((name, partial(roundtrip.refused_check, name, address, timeout)))
    other = f"answers {OTHER_LOOPBACK}"
    jobs.append((other, partial(roundtrip.answers_check, other, OTHER_LOOPBACK, timeout)))
    resolve = "resolve localhost"
    jobs.append((resolve, partial(roundtrip.resolve_check, resolve, "localhost", ipv6.enabled)))
    return jobs


class RoundTrips:
    """The packet checks, running: `start` them, do other work, then `checks()`.

    ICMP starts first and alone for a moment: round trips in other threads would put
    their GIL hand-offs into the rtt figures (a healthy lo answers in well under 1 ms).
    """

    def __init__(self, ipv6: Ipv6Status, probes: int, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self.jobs = _jobs(ipv6, probes, timeout)
        self.results: dict[str, Check] = {}
        self.threads = [
            threading.Thread(target=self._run, args=(name, fn), daemon=True)
            for name, fn in self.jobs
        ]

    def _run(self, name: str, fn: Callable[[], Check]) -> None:
        try:
            self.results[name] = fn()
        except Exception as exc:  # a bug must show as a failed check, not a lost one
            self.results[name] = Check(name, False, f"internal error: {type(exc).__name__}: {exc}")

    def start(self) -> RoundTrips:
        pairs = list(zip(self.threads, self.jobs, strict=True))
        first = [t for t, (name, _) in pairs if name.startswith("icmp")]
        for t in first:
            t.start()
        deadline = time.monotonic() + ICMP_HEAD_START
        for t in first:
            t.join(max(deadline - time.monotonic(), 0))
        for t in self.threads:
            if t not in first:
                t.start()
        return self

    def checks(self) -> list[Check]:
        """Every packet check in report order (one that did not finish says so)."""
        deadline = time.monotonic() + self.timeout * 2 + 5
        for t in self.threads:
            t.join(max(deadline - time.monotonic(), 0))
        return [
            self.results.get(name) or Check(name, False, "did not finish in time")
            for name, _ in self.jobs
        ]

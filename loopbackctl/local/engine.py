"""Local verify and apply: read lo, run the round trips concurrently, judge, repair.

Call these after entering the target network namespace: the threads started here
inherit the caller's namespace. Outcomes are data (`Report`); nothing here prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from loopbackctl.local import icmp, roundtrip, system
from loopbackctl.local.checks import (
    Expected,
    address_checks,
    explain_errno,
    ipv6_check,
    link_checks,
    not_applicable,
)
from loopbackctl.local.plan import Plan, Step, plan, plan_addresses, plan_link
from loopbackctl.local.state import Ipv6Status, LoState
from loopbackctl.result import Check, HostResult, Status

# Loopback answers in microseconds; this only bounds a broken lo (packets dropped).
TIMEOUT = 0.5
OTHER_LOOPBACK = "127.0.0.2"
ICMP_HEAD_START = 0.05


@dataclass
class Report:
    """One local run: the HostResult plus what only local mode knows."""

    result: HostResult
    mode: str  # "verify" | "apply" | "apply --check"
    netns: str | None
    inventory_host: str | None
    summary: str  # "nothing to change", "2 change(s) made", ... ("" for verify)
    why: dict[str, str]  # change (command) → why it is needed


def _icmp_check(name: str, address: str, probes: int, timeout: float) -> Check:
    try:
        got = icmp.echo(address, probes, timeout)
    except icmp.Unavailable as exc:
        return Check(name, False, f"could not send ICMP echo: {exc}", "warning")
    if got.error is not None:
        return Check(
            name,
            False,
            f"could not send ICMP echo to {address}: {explain_errno(got.errno, address)}"
            f" ({got.method})",
        )
    return Check(name, got.received == probes, icmp.summary(got))


def _round_trips(
    ipv6: Ipv6Status, probes: int, timeout: float
) -> list[tuple[str, Callable[[], Check]]]:
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


def _run_job(name: str, fn: Callable[[], Check], out: dict[str, Check]) -> None:
    try:
        out[name] = fn()
    except Exception as exc:  # a bug must show as a failed check, not a lost one
        out[name] = Check(name, False, f"internal error: {type(exc).__name__}: {exc}")


def collect(
    expected: Expected, probes: int, timeout: float = TIMEOUT
) -> tuple[LoState | None, list[Check], list[str]]:
    """(lo's state, every check in report order, unmanaged addresses)."""
    ipv6 = system.read_ipv6_status()
    jobs = _round_trips(ipv6, probes, timeout)
    results: dict[str, Check] = {}
    threads = [
        threading.Thread(target=_run_job, args=(name, fn, results), daemon=True)
        for name, fn in jobs
    ]
    # ICMP first and alone for a moment: round trips in other threads would put their
    # GIL hand-offs into the rtt figures. A healthy lo answers in well under 1 ms.
    icmp_threads = [
        t for t, (name, _) in zip(threads, jobs, strict=True) if name.startswith("icmp")
    ]
    for t in icmp_threads:
        t.start()
    icmp_deadline = time.monotonic() + ICMP_HEAD_START
    for t in icmp_threads:
        t.join(max(icmp_deadline - time.monotonic(), 0))
    for t in threads:
        if t not in icmp_threads:
            t.start()
    unmanaged: list[str] = []
    state: LoState | None = None
    try:
        state = system.read_lo()
        checks = [*link_checks(state), ipv6_check(ipv6)]
        addr_checks, unmanaged = address_checks(state, ipv6, expected)
        checks += addr_checks
    except system.LocalError as exc:
        checks = [Check("lo state", False, str(exc)), ipv6_check(ipv6)]
    deadline = time.monotonic() + timeout * 2 + 5
    for t in threads:
        t.join(max(deadline - time.monotonic(), 0))
    for name, _ in jobs:
        checks.append(results.get(name) or Check(name, False, "did not finish in time"))
    return state, checks, unmanaged


def _status(checks: list[Check], bad: Status) -> Status:
    return bad if any(not c.ok and c.severity == "error" for c in checks) else "ok"


def verify(name: str, expected: Expected, probes: int, netns: str | None) -> Report:
    start = time.perf_counter()
    _state, checks, unmanaged = collect(expected, probes)
    result = HostResult(
        name=name,
        platform="linux",
        status=_status(checks, "drift"),
        checks=checks,
        unmanaged=unmanaged,
        duration=time.perf_counter() - start,
    )
    return Report(result, "verify", netns, expected.host, "", {})


def _run_step(step: Step) -> str | None:
    """None when `ip` did it, else one sentence saying what failed."""
    done = system.run_ip(*step.args)
    if done.returncode == 0:
        return None
    return f"`{step.command}` failed: {done.stderr or f'exit status {done.returncode}'}"


def apply(name: str, expected: Expected, probes: int, netns: str | None, check: bool) -> Report:
    """Plan, then (unless `check`) change lo, then verify. The plan is pure; see plan.py."""
    start = time.perf_counter()
    ipv6 = system.read_ipv6_status()
    error: str | None = None
    made: list[Step] = []
    try:
        state = system.read_lo()
        if state is None:
            error = "there is no interface named lo in this network namespace"
        elif check:
            whole = plan(state, ipv6, expected)
            made = list(whole.steps)
            error = "; ".join(whole.blocked) or None
        else:
            made, error = _execute(state, ipv6, expected)
    except system.LocalError as exc:
        error = str(exc)
    _state, checks, unmanaged = collect(expected, probes)
    changes = [s.command for s in made]
    if check:
        status: Status = "drift" if made or error else _status(checks, "drift")
        summary = f"would make {len(made)} change(s)" if made else "nothing to change"
    elif error is not None:
        status, summary = "failed", f"{len(made)} change(s) made before the failure"
    else:
        status = _status(checks, "failed")
        if status == "ok" and made:
            status = "changed"
        summary = f"{len(made)} change(s) made" if made else "nothing to change"
        if status == "failed":
            failing = ", ".join(c.name for c in checks if not c.ok and c.severity == "error")
            error = f"lo still fails after apply: {failing}"
    result = HostResult(
        name=name,
        platform="linux",
        status=status,
        changes=changes,
        commands=changes if not check else [],
        checks=checks,
        error=error,
        unmanaged=unmanaged,
        duration=time.perf_counter() - start,
    )
    mode = "apply --check" if check else "apply"
    why = {s.command: s.why for s in made}
    return Report(result, mode, netns, expected.host, summary, why)


def _execute(state: LoState, ipv6: Ipv6Status, expected: Expected) -> tuple[list[Step], str | None]:
    """Bring lo up, re-read it, then add what is still missing. Stops at the first failure."""
    made: list[Step] = []
    for step in plan_link(state):
        err = _run_step(step)
        if err:
            return made, err
        made.append(step)
    if made:
        fresh = system.read_lo()
        if fresh is None:
            return made, "lo disappeared while it was being brought up"
        state = fresh
    rest: Plan = plan_addresses(state.addresses, ipv6, expected)
    for step in rest.steps:
        err = _run_step(step)
        if err:
            return made, err
        made.append(step)
    return made, "; ".join(rest.blocked) or None

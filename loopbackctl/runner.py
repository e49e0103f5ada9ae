"""The per-host pipeline and the fleet's thread pool.

apply:  connect → read → plan → (nothing to do: ok) → push → write saved file → read →
        re-plan must be empty and the saved file must read back → save → changed.
        Any failure after the first command restores the state read before the change
        (plan.plan_restore, over a new connection if the old one was lost) and reports
        both the failure and whether the restore succeeded.
verify: connect → read → per-address checks (+ saved file, + reachability) → ok | drift.

Per-device outcomes are HostResults; nothing raised by a device escapes `run_host`, and
every string in a result is scrubbed of the host's secrets.
"""

from __future__ import annotations

import difflib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from typing import Literal

from loopbackctl.driver import (
    ConnectOptions,
    Driver,
    Persisting,
    Pinging,
    Purging,
    Routing,
    SavedFile,
    Session,
)
from loopbackctl.errors import ConnectionLostError, DeviceError, UnreachableError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Plan, Policy, diff_lines, is_protected, plan_host, plan_restore
from loopbackctl.result import Check, HostResult
from loopbackctl.transport import credentials
from loopbackctl.transport import ping as pinger

Mode = Literal["apply", "verify"]


@dataclass(frozen=True)
class Job:
    """One host's work. `artifacts` are its rendered templates (render.render_host)."""

    host: Host
    mode: Mode
    options: ConnectOptions = field(default_factory=ConnectOptions)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    check: bool = False
    purge: bool = False
    save: bool = True
    reachability: bool = False


class VerifyFailed(DeviceError):
    """The device took every command but does not read back as intended."""


def state_checks(
    want: Sequence[Loopback], have: Sequence[Loopback], plan: Plan, policy: Policy
) -> list[Check]:
    """Per interface and address: present, missing, unexpected, unmanaged; and up/down."""
    observed = {lb.name: lb for lb in have}
    unmanaged = set(plan.unmanaged)
    checks: list[Check] = []
    for lb in want:
        h = observed.get(lb.name)
        n = lb.name
        if lb.state == "absent":
            checks.append(Check(f"{n} absent", h is None, "absent" if h is None else "present"))
            continue
        if h is None:
            checks.append(Check(f"{n} present", False, f"missing: {n} does not exist"))
            continue
        state = "DOWN" if h.shutdown else "UP"
        checks.append(
            Check(
                f"{n} {'down' if lb.shutdown else 'up'}", h.shutdown == lb.shutdown, f"{n} {state}"
            )
        )
        if lb.description is not None:
            checks.append(
                Check(
                    f"{n} description",
                    h.description == lb.description,
                    f"description {h.description!r}",
                )
            )
        if policy.primary and lb.ipv4:
            ok = bool(h.ipv4) and h.ipv4[0] == lb.ipv4[0]
            now = h.ipv4[0] if h.ipv4 else "none"
            checks.append(Check(f"{n} primary {lb.ipv4[0]}", ok, f"primary is {now}"))
        for a in lb.addresses:
            ok = a in h.addresses
            checks.append(Check(f"{n} {a}", ok, f"{a} {'present' if ok else 'missing'}"))
        for a in lb.absent_addresses:
            ok = a not in h.addresses
            detail = f"{a} absent" if ok else f"{a} unexpected: listed under absent_addresses"
            checks.append(Check(f"{n} {a} absent", ok, detail))
        named = set(lb.addresses) | set(lb.absent_addresses)
        for a in h.addresses:
            if a in named or is_protected(a, policy):
                continue
            if a in unmanaged:
                checks.append(
                    Check(
                        f"{n} {a}", True, f"{a} unmanaged: not in the inventory, left alone", "info"
                    )
                )
            else:
                checks.append(
                    Check(f"{n} {a}", False, f"{a} unexpected: not in the inventory (purge)")
                )
    if not plan.empty and all(c.ok or c.severity != "error" for c in checks):
        pending = "; ".join(str(c) for c in plan.changes)
        checks.append(Check("plan", False, f"differs: {pending}"))
    return checks


def _host_ips(hostname: str) -> set[str]:
    try:
        return {str(ipaddress.ip_address(hostname))}
    except ValueError:
        pass
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(hostname, None)}
    except OSError:
        return set()


class _Pipeline:
    def __init__(
        self, job: Job, driver: Driver, cancel: threading.Event, result: HostResult
    ) -> None:
        self.job, self.driver, self.cancel, self.res = job, driver, cancel, result
        self.host = job.host
        self.session: Session | None = None
        self.sent: list[str] = []
        self.purge = job.purge or job.host.purge

    # -- sessions -------------------------------------------------------------------

    def _connect(self) -> Session:
        self.session = self.driver.connect(self.host, self.job.options)
        return self.session

    def _close(self) -> None:
        s, self.session = self.session, None
        if s is None:
            return
        sent = getattr(s, "sent", None)
        if isinstance(sent, list):
            self.sent += [str(c) for c in sent]
            sent.clear()
        s.close()

    def _want(self, have: Sequence[Loopback]) -> Sequence[Loopback]:
        if isinstance(self.driver, Purging):
            return self.driver.wanted(self.host, have, purge=self.purge)
        return self.host.loopbacks

    def _plan(self, have: Sequence[Loopback]) -> Plan:
        return plan_host(self._want(have), have, self.driver.policy, purge=self.purge)

    def _read(self, s: Session) -> tuple[Loopback, ...]:
        have = self.driver.read(s, self.host)
        if isinstance(self.driver, Routing):
            self.res.router_id = self.driver.router_id(self.host)
        return have

    # -- the pipeline ---------------------------------------------------------------

    def run(self) -> None:
        if self.cancel.is_set():
            self.res.error = "not contacted: interrupted before this host's turn"
            return
        try:
            session = self._connect()
        except UnreachableError as exc:
            self.res.status, self.res.error = "unreachable", str(exc)
            return
        except DeviceError as exc:
            self.res.error = str(exc)
            return
        try:
            if self.job.mode == "verify":
                self._verify(session)
            else:
                self._apply(session)
        except DeviceError as exc:  # reading failed: nothing was changed
            self.res.status, self.res.error = "failed", str(exc)
        finally:
            self._close()
            self.res.commands = self.sent or self.res.commands

    def _verify(self, s: Session) -> None:
        have = self._read(s)
        plan = self._plan(have)
        self.res.unmanaged = [str(a) for a in plan.unmanaged]
        self.res.changes = [str(c) for c in plan.changes]
        checks = state_checks(self._want(have), have, plan, self.driver.policy)
        if isinstance(self.driver, Persisting):
            try:
                saved = self.driver.read_saved(s, self.host, self.job.artifacts)
            except ConnectionLostError:
                raise
            except DeviceError as exc:
                checks.append(Check("saved file", False, f"cannot read it: {exc}"))
            else:
                if saved is not None:
                    checks.append(_saved_check(*saved))
        if self.job.reachability:
            checks += self._reach(s, have)
        self.res.checks = checks
        self.res.status = "drift" if self.res.failed_checks else "ok"

    def _reach(self, s: Session, have: Sequence[Loopback]) -> list[Check]:
        observed = {a for lb in have for a in lb.addresses}
        addrs = [
            a
            for lb in self.host.loopbacks
            if lb.state == "present"
            for a in lb.addresses
            if a in observed
        ]
        checks: list[Check] = []
        hostname = credentials.resolve(self.host).hostname
        mine = _host_ips(hostname)
        pinging = self.driver if isinstance(self.driver, Pinging) else None
        if pinging is not None and addrs:
            mine |= pinging.interface_addresses(s, self.host)
        for a in addrs:
            name = f"reach {a.ip} from here"
            if not pinger.allowed(a.ip):
                checks.append(Check(name, True, "not pinged: outside the ping allow-list", "info"))
            elif pinger.route_gateway(a.ip) not in mine:
                checks.append(
                    Check(name, True, f"not pinged: not routed to {hostname} from here", "info")
                )
            else:
                why = pinger.ping(a.ip, self.job.options.connect_timeout)
                checks.append(Check(name, why is None, why or "answered"))
        if pinging is not None and addrs:
            for a, why in zip(addrs, pinging.ping_own(s, self.host, addrs), strict=True):
                checks.append(Check(f"reach {a.ip} on the host", why is None, why or "answered"))
        return checks

    def _apply(self, s: Session) -> None:
        before = self._read(s)
        plan = self._plan(before)
        self.res.unmanaged = [str(a) for a in plan.unmanaged]
        persist = self.driver if isinstance(self.driver, Persisting) else None
        saved = persist.read_saved(s, self.host, self.job.artifacts) if persist else None
        write = saved is not None and saved[0].content != saved[1].content
        self.res.changes = [str(c) for c in plan.changes]
        if saved is not None and write:
            self.res.changes.append(f"write {saved[1].path}")
        self.res.diff = self._diff(before, plan, saved if write else None) or None
        if plan.empty and not write:
            self.res.checks = state_checks(self._want(before), before, plan, self.driver.policy)
            if saved is not None:
                self.res.checks.append(_saved_check(*saved))
            self.res.status = "ok"
            return
        if self.job.check:
            self.res.commands = self.driver.commands(self.host, plan.changes)
            self.res.checks = state_checks(self._want(before), before, plan, self.driver.policy)
            if saved is not None:
                self.res.checks.append(_saved_check(*saved))
            self.res.status = "drift"
            return
        if self.cancel.is_set():
            self.res.error = "interrupted before any change; nothing was changed"
            return
        touched = list(dict.fromkeys(c.interface for c in plan.changes))
        try:
            commands = self.driver.commands(self.host, plan.changes)
            self.res.commands = list(commands)
            self.driver.push(s, self.host, commands)
            if persist is not None and saved is not None and write:
                persist.write_saved(s, self.host, saved[1])
            after = self._read(s)
            replan = self._plan(after)
            self.res.checks = state_checks(self._want(after), after, replan, self.driver.policy)
            if not replan.empty:
                pending = "; ".join(str(c) for c in replan.changes)
                raise VerifyFailed(f"after the change the host still differs: {pending}")
            if persist is not None and saved is not None and write:
                now = persist.read_saved(s, self.host, self.job.artifacts)
                if now is None or now[0].content != saved[1].content:
                    raise VerifyFailed(f"{saved[1].path} does not read back as written")
                self.res.checks.append(_saved_check(*now))
            if self.job.save and not plan.empty:
                self.driver.save(s, self.host)
            self.res.status = "changed"
        except DeviceError as exc:
            self.res.status = "failed"
            self.res.checks = [c for c in self.res.checks if c.name != "plan"]
            self._rollback(exc, before, touched, saved[0] if saved is not None and write else None)

    def _rollback(
        self,
        exc: DeviceError,
        before: Sequence[Loopback],
        touched: Sequence[str],
        old_file: SavedFile | None,
    ) -> None:
        why = str(exc)
        sent = getattr(self.session, "sent", None)
        if not self.sent and isinstance(sent, list) and not sent:
            # Refused before a single command went out (e.g. sudo refused the secret and
            # closed the session): the host is as it was, no need to reopen and look.
            self.res.rollback = "nothing to undo"
            self.res.error = f"{why}; rolled back: {self.res.rollback}"
            return
        try:
            s = self.session
            if s is None or isinstance(exc, ConnectionLostError):
                self._close()
                s = self._connect()
            undone = False
            now = self._read(s)
            restore = plan_restore(before, now, touched, self.driver.policy)
            if not restore.empty:
                self.driver.push(s, self.host, self.driver.commands(self.host, restore.changes))
                undone = True
            if old_file is not None and isinstance(self.driver, Persisting):
                cur = self.driver.read_saved(s, self.host, self.job.artifacts)
                if cur is not None and cur[0].content != old_file.content:
                    self.driver.restore_saved(s, self.host, old_file)
                    undone = True
                    cur = self.driver.read_saved(s, self.host, self.job.artifacts)
                    if cur is None or cur[0].content != old_file.content:
                        raise DeviceError(f"{old_file.path} does not read back as before")
            left = plan_restore(before, self._read(s), touched, self.driver.policy)
            if not left.empty:
                raise DeviceError("still differs: " + "; ".join(str(c) for c in left.changes))
        except DeviceError as rexc:
            self.res.rollback = f"FAILED: {rexc}"
            self.res.error = (
                f"{why}; ROLLBACK FAILED ({rexc}): the host may be half-applied, check it by hand"
            )
            return
        self.res.rollback = "restored" if undone else "nothing to undo"
        self.res.error = f"{why}; rolled back: {self.res.rollback}"

    def _diff(
        self, before: Sequence[Loopback], plan: Plan, saved: tuple[SavedFile, SavedFile] | None
    ) -> str:
        observed = {lb.name: lb for lb in before}
        out: list[str] = []
        for lb in self._want(before):
            lines = diff_lines(observed.get(lb.name), lb.name, plan)
            if lines:
                out += [f"--- {self.host.name} {lb.name} (now)"]
                out += [f"+++ {self.host.name} {lb.name} (after apply)", *lines]
        if saved is not None:
            old, new = saved
            now = "absent" if old.content is None else "now"
            out += [
                line.rstrip("\n")
                for line in difflib.unified_diff(
                    (old.content or "").splitlines(keepends=True),
                    (new.content or "").splitlines(keepends=True),
                    fromfile=f"{self.host.name} {old.path} ({now})",
                    tofile=f"{self.host.name} {new.path} (after apply)",
                )
            ]
        return "\n".join(out)


def _saved_check(have: SavedFile, want: SavedFile) -> Check:
    if have.content == want.content:
        return Check("saved file", True, f"{want.path} as intended")
    return Check(
        "saved file", False, f"{want.path} {'missing' if have.content is None else 'differs'}"
    )


def _scrub(res: HostResult, secrets: Sequence[str]) -> None:
    if not secrets:
        return
    for f in fields(res):
        value = getattr(res, f.name)
        if isinstance(value, str):
            setattr(res, f.name, credentials.redact(value, secrets))
        elif isinstance(value, list):
            setattr(
                res,
                f.name,
                [
                    credentials.redact(v, secrets)
                    if isinstance(v, str)
                    else Check(
                        v.name,
                        v.ok,
                        credentials.redact(v.detail, secrets),
                        v.severity,
                    )
                    if isinstance(v, Check)
                    else v
                    for v in value
                ],
            )


def run_host(
    job: Job, cancel: threading.Event | None = None, driver: Driver | None = None
) -> HostResult:
    """Run one host's job; always returns a HostResult, never raises for the device."""
    from loopbackctl.drivers import get_driver

    t0 = time.monotonic()
    res = HostResult(name=job.host.name, platform=job.host.platform, status="failed")
    try:
        pipeline = _Pipeline(
            job, driver or get_driver(job.host.platform), cancel or threading.Event(), res
        )
        pipeline.run()
    except Exception as exc:  # a bug must not stop the fleet: report it for this host
        res.status = "failed"
        res.error = f"internal error: {type(exc).__name__}: {exc}"
    res.duration = time.monotonic() - t0
    try:
        secrets = credentials.resolve(job.host).secrets
    except Exception:
        secrets = ()
    _scrub(res, secrets)
    return res


def check_router_ids(results: Sequence[HostResult]) -> None:
    """Fleet-level: each host that reports a router-id gets a "router-id" check, failed
    (and an ok/changed host becomes drift) when another host of the run reports the same
    one: OSPF and BGP need unique router-ids."""
    by_id: dict[str, list[str]] = {}
    for r in results:
        if r.router_id:
            by_id.setdefault(r.router_id, []).append(r.name)
    for r in results:
        if not r.router_id:
            continue
        others = [n for n in by_id[r.router_id] if n != r.name]
        if not others:
            r.checks.append(Check("router-id", True, f"{r.router_id}, unique in this run"))
            continue
        detail = f"router-id {r.router_id} is also the router-id of {', '.join(others)}"
        r.checks.append(Check("router-id", False, detail))
        if r.status in ("ok", "changed"):
            r.status = "drift"


def run_fleet(
    jobs: Sequence[Job],
    workers: int,
    cancel: threading.Event | None = None,
    on_result: Callable[[HostResult], None] | None = None,
) -> list[HostResult]:
    """Run `jobs` on a pool of `workers` threads; results in the order of `jobs`.

    After `cancel` is set, hosts not yet started are reported as not contacted, and hosts
    in flight finish (or roll back) their current step."""
    cancel = cancel or threading.Event()
    results: dict[int, HostResult] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loopbackctl") as pool:
        futures: dict[Future[HostResult], int] = {
            pool.submit(run_host, job, cancel): i for i, job in enumerate(jobs)
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in done:
                r = f.result()
                results[futures[f]] = r
                if on_result is not None:
                    on_result(r)
    return [results[i] for i in range(len(jobs))]

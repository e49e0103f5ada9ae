"""The per-host pipeline and the fleet's thread pool.

apply:  connect → read → plan + commands → (both empty: ok) → arm → push → write saved
        file → read → re-plan and re-computed commands must both be empty and the saved
        file must read back → confirm → save → changed. Any failure after the first
        command restores the state read before the change (Driver.restore, over a new
        connection if the old one was lost) and reports both the failure and whether the
        restore succeeded.

Confirm-or-revert (`Job.confirm_timeout`, a driver that is `Confirming`): before the first
command the device is armed to put back by itself, `confirm_timeout` seconds later, the
state read before, unless the run confirms. The run confirms once the change read back
as intended, or once its rollback did; when the rollback fails it leaves the revert armed
and says when the device reverts. So a controller that dies (SIGKILL, a lost network)
leaves each device as it was or as intended, never between. It saves (write memory)
only after confirming: a revert never leaves the saved configuration differing from the
running one. --check and a converged host arm nothing.
verify: connect → read → per-address checks (+ the lines a config-driven platform would
        send, + saved file, + reachability, + on routers with --routing: router-ids and
        the mesh) → ok | drift.

Per-device outcomes are HostResults; nothing raised by a device escapes `run_host`, and
every string in a result is scrubbed of the host's secrets.
"""

from __future__ import annotations

import dataclasses
import difflib
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal

from loopbackctl import locks, management, platforms, routing
from loopbackctl.checks import state_checks, with_health
from loopbackctl.errors import ConnectionLostError, DeviceError, UnreachableError
from loopbackctl.flight import InFlight
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Plan, Policy, diff_lines, plan_host, plan_restore
from loopbackctl.platforms.base import (
    REVERT_PENDING,
    Confirming,
    Driver,
    Meshing,
    Observed,
    Persisting,
    Pinging,
    Routing,
    SavedFile,
    Session,
    ShowsBlocks,
    Undo,
)
from loopbackctl.result import Check, HostResult
from loopbackctl.routing import MeshTarget
from loopbackctl.templating import Templates
from loopbackctl.transport import credentials
from loopbackctl.transport import ping as pinger
from loopbackctl.transport.options import ConnectOptions

if TYPE_CHECKING:
    from concurrent.futures import Future

Mode = Literal["apply", "verify"]


@dataclass(frozen=True)
class Job:
    """One host's work. `artifacts` are its rendered templates (render.render_host);
    `templates` the run's, through which a driver renders them anew (Linux: its commands
    from the plan's changes). `confirm_timeout`: apply's confirm-or-revert window in
    seconds on a `Confirming` driver, None for none (--no-confirm)."""

    host: Host
    mode: Mode
    options: ConnectOptions = field(default_factory=ConnectOptions)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    templates: Templates = field(default_factory=Templates)
    check: bool = False
    purge: bool = False
    save: bool = True
    reachability: bool = False
    ping_allow: pinger.AllowList = pinger.DEFAULT_ALLOW
    # verify --routing: None when not asked; else the other routers' loopbacks to reach.
    routing: tuple[MeshTarget, ...] | None = None
    confirm_timeout: float | None = None
    # apply's per-device lock (loopbackctl.locks): who this run is, `pid P on controller
    # C`, None for no lock; the controller's lock directory for drivers that are not
    # Locking.
    lock_holder: str | None = None
    lock_dir: str | None = None
    # apply may change the loopback address its session goes through (management.py).
    allow_management_change: bool = False


PURGE_IGNORED = (
    "purge not applied: the inventory does not declare this host's loopbacks"
    " (data.loopbacks); declare them (an empty list: none may remain) for purge to remove"
    " the others"
)


class VerifyFailed(DeviceError):
    """The device took every command but does not read back as intended."""


class ConfirmFailed(DeviceError):
    """The change read back as intended but its revert could not be cancelled: the
    device undoes it by itself (no rollback from here)."""


@dataclass(frozen=True)
class _Intent:
    """What apply found and decided before changing anything."""

    before: Observed
    plan: Plan
    commands: list[str]
    saved: tuple[SavedFile, SavedFile] | None
    impact: list[str] = field(default_factory=list)

    @property
    def write(self) -> bool:
        return self.saved is not None and self.saved[0].content != self.saved[1].content

    @property
    def converged(self) -> bool:
        return self.plan.empty and not self.commands and not self.write


class _Pipeline:
    """One host's run. The session and the lines it sent are the only mutable state."""

    def __init__(
        self, job: Job, driver: Driver, cancel: threading.Event, result: HostResult
    ) -> None:
        self.job, self.driver, self.cancel, self.res = job, driver, cancel, result
        self.host = job.host
        platform = platforms.lookup(job.host.platform)
        assert platform is not None, job.host.platform  # validated with the inventory
        self.policy: Policy = platform.policy
        self.configured = platform.config is not None
        self.router, self.title = platform.router, platform.title
        self.persist = driver if isinstance(driver, Persisting) else None
        confirming = isinstance(driver, Confirming) and job.confirm_timeout is not None
        self.confirming = driver if confirming and isinstance(driver, Confirming) else None
        # When the armed revert fires (wall clock, for messages); None while not armed.
        self.reverts_at: float | None = None
        self.artifacts = job.templates.for_host(job.host, job.artifacts)
        self.guard = (
            locks.Guard(driver, job.host, job.lock_holder, job.lock_dir or locks.DEFAULT_LOCK_DIR)
            if job.lock_holder is not None and job.mode == "apply" and not job.check
            else None
        )
        self.session: Session | None = None
        # Where sessions go: the host, or after a change that cut the management path,
        # the host at its new address (management.via).
        self.target: Host = job.host
        self.cut: management.Cut | None = None
        self.sent: list[str] = []
        # Purge acts only on a host whose inventory declares its loopbacks (an empty list
        # declares "none may remain"): one it does not describe keeps every loopback.
        requested = job.purge or job.host.purge
        self.purge = requested and job.host.declares_loopbacks
        self.purge_ignored = requested and not self.purge

    # -- sessions -------------------------------------------------------------------

    def _connect(self) -> Session:
        """A new session; under apply, the device's lock is held from here (LockedError
        when another run holds it: nothing is sent then)."""
        if self.guard is not None:
            self.guard.before_connect()
        self.session = self.driver.connect(self.target, self.job.options)
        if self.guard is not None:
            try:
                self.guard.after_connect(self.session)
            except DeviceError:
                self._close()
                raise
        return self.session

    def _close(self) -> None:
        s, self.session = self.session, None
        if s is None:
            return
        self.sent += s.sent
        s.sent = []
        s.close()

    def _want(self, have: Observed) -> Sequence[Loopback]:
        return self.driver.wanted(self.host, have, purge=self.purge)

    def _plan(self, have: Observed) -> Plan:
        return plan_host(self._want(have), have.loopbacks, self.policy, purge=self.purge)

    def _checks(self, have: Observed, plan: Plan, commands: Sequence[str] = ()) -> list[Check]:
        checks = state_checks(self._want(have), have.loopbacks, plan, self.policy)
        if self.configured:
            sends = "; ".join(c.strip() for c in commands)
            detail = f"differs: would send {sends}" if commands else "as the templates render it"
            checks.append(Check("configuration", not commands, detail))
        return with_health(have.health, checks)

    def _failing(self) -> str:
        """The failed checks, in words ("" when none): a driver's health can fail where
        the plan has nothing to change (e.g. an address lo cannot hold)."""
        return "; ".join(f"{c.name}: {c.detail}" for c in self.res.failed_checks)

    def _commands(self, have: Observed, plan: Plan) -> list[str]:
        return self.driver.commands(self.host, have, plan, self.artifacts)

    def _read(self, s: Session) -> Observed:
        have = self.driver.read(s, self.host)
        if self.reverts_at is not None:  # the pending revert is this run's own
            kept = tuple(c for c in have.health if c.name != REVERT_PENDING)
            have = dataclasses.replace(have, health=kept)
        self.res.router_id = str(have.router_id) if have.router_id is not None else None
        return have

    def _read_saved(self, s: Session) -> tuple[SavedFile, SavedFile] | None:
        if self.persist is None:
            return None
        return self.persist.read_saved(s, self.host, self.artifacts)

    # -- the pipeline ---------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        finally:
            if self.guard is not None:
                self.guard.release()

    def _run(self) -> None:
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
            if self.purge_ignored:
                self.res.checks.append(Check("purge", False, PURGE_IGNORED, "warning"))

    def _verify(self, s: Session) -> None:
        have = self._read(s)
        plan = self._plan(have)
        self.res.unmanaged = [str(a) for a in plan.unmanaged]
        self.res.changes = [str(c) for c in plan.changes]
        checks = self._checks(have, plan, self._commands(have, plan))
        try:
            saved = self._read_saved(s)
        except ConnectionLostError:
            raise
        except DeviceError as exc:
            checks.append(Check("saved file", False, f"cannot read it: {exc}"))
        else:
            if saved is not None:
                checks.append(_saved_check(*saved))
        if self.job.reachability:
            checks += self._reach(s, have)
        if self.job.routing is not None and self.router:
            checks += self._routing(s, self.job.routing)
        self.res.checks = checks
        self.res.status = "drift" if self.res.failed_checks else "ok"

    def _reach(self, s: Session, have: Observed) -> list[Check]:
        """Ping every present address the inventory names from here (inside the allow-list
        only), and those the device holds on the device itself (`Pinging`)."""
        addrs = [a for lb in self.host.loopbacks if lb.state == "present" for a in lb.addresses]
        checks: list[Check] = []
        for a in addrs:
            name = f"reach {a.ip} from here"
            if not pinger.allowed(a.ip, self.job.ping_allow):
                checks.append(Check(name, True, pinger.OUTSIDE, "info"))
            else:
                why = pinger.ping(a.ip, self.job.options.connect_timeout, self.job.ping_allow)
                checks.append(Check(name, why is None, why or "answered"))
        observed = {a for lb in have.loopbacks for a in lb.addresses}
        held = [a for a in addrs if a in observed]
        if isinstance(self.driver, Pinging) and held:
            for a, why in zip(held, self.driver.ping_own(s, self.host, held), strict=True):
                checks.append(Check(f"reach {a.ip} on the host", why is None, why or "answered"))
        return checks

    def _routing(self, s: Session, targets: Sequence[MeshTarget]) -> list[Check]:
        """verify --routing on a router: its protocols' router-ids (`Routing`), and the
        route and echo from it to every other router's loopback (`Meshing`)."""
        if not isinstance(self.driver, Routing):
            detail = f"not read: loopbackctl does not ask {self.title} routers for routing state"
            return [Check("routing", True, detail, "info")]
        facts = self.driver.routing_facts(s, self.host)
        self.res.router_ids = [f.seen for f in facts]
        checks = routing.router_id_checks(self.host, facts)
        if isinstance(self.driver, Meshing):
            probes = self.driver.mesh(s, self.host, targets)
            checks += routing.mesh_checks(self.host.name, probes)
        else:
            detail = (
                f"not measured: loopbackctl does not ask {self.title} routers for routes and"
                " echoes (nor do other routers ping this one's loopbacks)"
            )
            checks.append(Check("mesh", True, detail, "info"))
        return checks

    def _intent(self, s: Session) -> _Intent:
        before = self._read(s)
        plan = self._plan(before)
        impact = (
            routing.impact(self.host, before.loopbacks, before.router_id, plan)
            if self.router
            else []
        )
        commands = self._commands(before, plan)
        intent = _Intent(before, plan, commands, self._read_saved(s), impact)
        self.res.unmanaged = [str(a) for a in intent.plan.unmanaged]
        self.res.changes = [str(c) for c in intent.plan.changes]
        if intent.saved is not None and intent.write:
            self.res.changes.append(f"write {intent.saved[1].path}")
        self.res.diff = self._diff(intent) or None
        return intent

    def _apply(self, s: Session) -> None:
        intent = self._intent(s)
        self._apply_intent(s, intent)
        if self.res.status in ("ok", "changed", "drift"):
            # Said before anything is sent (--check), and kept after the change.
            self.res.checks += [
                Check("router-id impact", False, note, "warning") for note in intent.impact
            ]

    def _apply_intent(self, s: Session, intent: _Intent) -> None:
        if intent.converged or self.job.check:
            self._unchanged(intent)
            return
        if not intent.plan.empty and not intent.commands:
            # The template lays out nothing that would make the change: pushing nothing
            # would "succeed" and leave the device as it is.
            self.res.status = "failed"
            self.res.checks = self._checks(intent.before, intent.plan, intent.commands)
            pending = "; ".join(str(c) for c in intent.plan.changes)
            self.res.error = (
                f"the rendered configuration does not carry out: {pending}; check the "
                "template (--templates) lays out what the inventory says"
            )
            return
        refusal = self._management_path(intent)
        if refusal is not None:
            self.res.status, self.res.error = "failed", refusal
            return
        if self.cancel.is_set():
            self.res.error = "interrupted before any change; nothing was changed"
            return
        if self.confirming is not None:
            try:
                self._arm(s, intent)
            except DeviceError as exc:
                self.res.status = "failed"
                # Refused before a single change (sudo refused, /run not writable...).
                self.res.rollback = "nothing to undo"
                self.res.error = f"{exc}; rolled back: {self.res.rollback}"
                return
        try:
            self._push_and_prove(s, intent)
            self._confirm_change()
            self._save(intent)
            self.res.status = "changed"
        except DeviceError as exc:
            self.res.status = "failed"
            self.res.checks = [c for c in self.res.checks if c.name != "plan"]
            self._rollback(exc, intent)

    def _unchanged(self, intent: _Intent) -> None:
        """--check, or nothing to change: report the checks; nothing is sent."""
        if self.job.check:
            self.res.commands = list(intent.commands)
        self.res.checks = self._checks(intent.before, intent.plan, intent.commands)
        if intent.saved is not None:
            self.res.checks.append(_saved_check(*intent.saved))
        cut = self._cut(intent) if self.job.check else None
        if cut is not None:
            note = management.explain(cut)
            self.res.checks.append(Check("management path", False, note, "warning"))
        self.res.status = "ok" if intent.converged else "drift"
        failing = self._failing()
        if failing and self.job.check:
            self.res.status = "drift"
        elif failing:
            self.res.status = "failed"
            self.res.error = f"not as intended, and no change would fix it: {failing}"

    def _cut(self, intent: _Intent) -> management.Cut | None:
        """The change of the plan that takes away the session's address, if any."""
        address = management.session_address(self.host)
        return management.cut(address, intent.before.loopbacks, intent.plan) if address else None

    def _management_path(self, intent: _Intent) -> str | None:
        """Why the change must not go out when it cuts the session's own path (None: it
        may; then `self.cut` says whether it does)."""
        c = self._cut(intent)
        if c is None:
            return None
        if not self.job.allow_management_change:
            return management.refused(c)
        stranded = management.stranded(self.host, c, intent.plan)
        if stranded is not None:
            return stranded
        if self.confirming is None:
            return management.unconfirmed(c)
        self.cut = c
        return None

    def _reconnect(self, old: Session) -> Session:
        """After a push that cut the management path: a session through the new address
        (it takes over the lock the old one held); the old one is closed. DeviceError
        when the device cannot be reached there: it then reverts by itself."""
        assert self.cut is not None
        self.target = management.via(self.host, management.reconnect_to(self.host))
        self.session = None
        try:
            return self._connect()
        except DeviceError as exc:
            raise DeviceError(
                f"the change took away {self.cut.address} ({self.cut}) and loopbackctl could"
                f" not reconnect through {management.reconnect_to(self.host)}: {exc}"
            ) from None
        finally:
            self.sent += old.sent
            old.sent = []
            old.close()

    def _arm(self, s: Session, intent: _Intent) -> None:
        assert self.confirming is not None and self.job.confirm_timeout is not None
        saved = intent.saved[0] if intent.saved is not None and intent.write else None
        undo = Undo(intent.before, intent.plan, tuple(intent.commands), saved)
        window = self.confirming.arm(s, self.host, undo, self.job.confirm_timeout)
        self.reverts_at = time.time() + window

    def _reverts(self) -> str:
        assert self.reverts_at is not None
        at = time.strftime("%H:%M:%S UTC", time.gmtime(self.reverts_at))
        return f"the device puts back the state read before by itself at {at} (confirm-or-revert)"

    def _confirm(self) -> None:
        """Cancel the armed revert (over a new session if the old one was lost)."""
        assert self.confirming is not None
        s = self.session
        try:
            if s is None:
                raise ConnectionLostError(f"{self.host.name}: no session")
            self.confirming.confirm(s, self.host)
        except ConnectionLostError:
            self._close()
            self.confirming.confirm(self._connect(), self.host)
        self.reverts_at = None

    def _confirm_change(self) -> None:
        """After the change read back as intended: confirm it. ConfirmFailed (no rollback:
        the device reverts by itself, or already did) when it cannot."""
        if self.reverts_at is None:
            return
        try:
            self._confirm()
        except DeviceError as exc:
            raise ConfirmFailed(
                f"the change read back as intended but was not confirmed ({exc}); "
                + self._reverts()
            ) from None

    def _save(self, intent: _Intent) -> None:
        if self.job.save and intent.commands:
            self.driver.save(self._session(), self.host)

    def _session(self) -> Session:
        return self.session if self.session is not None else self._connect()

    def _push_and_prove(self, s: Session, intent: _Intent) -> None:
        """Push, write the saved file, read back: the re-plan must be empty and the file
        must read back as written. DeviceError at the first failure."""
        commands = intent.commands
        self.res.commands = list(commands)
        try:
            self.driver.push(s, self.host, commands)
        except ConnectionLostError:
            if self.cut is None:
                raise
        if self.cut is not None:  # proven and confirmed only through the new path
            s = self._reconnect(s)
        if self.persist is not None and intent.saved is not None and intent.write:
            self.persist.write_saved(s, self.host, intent.saved[1])
        after = self._read(s)
        replan = self._plan(after)
        again = self._commands(after, replan)
        self.res.checks = self._checks(after, replan, again)
        if not replan.empty:
            pending = "; ".join(str(c) for c in replan.changes)
            raise VerifyFailed(f"after the change the host still differs: {pending}")
        if again:
            pending = "; ".join(c.strip() for c in again)
            raise VerifyFailed(f"after the change the configuration still differs: {pending}")
        failing = self._failing()
        if failing:
            raise VerifyFailed(f"after the change the host still fails: {failing}")
        if intent.saved is not None and intent.write:
            now = self._read_saved(s)
            if now is None or now[0].content != intent.saved[1].content:
                raise VerifyFailed(f"{intent.saved[1].path} does not read back as written")
            self.res.checks.append(_saved_check(*now))

    def _rollback(self, exc: DeviceError, intent: _Intent) -> None:
        """Restore the state read before; then cancel the armed revert if the restore
        read back as before, else leave it armed to do the job (and say when)."""
        if isinstance(exc, ConfirmFailed):
            self.res.rollback = "left to the device"
            self.res.error = str(exc)
            return
        if self.cut is not None and self.reverts_at is not None:
            # Putting back the old address from here would cut this session in turn: the
            # armed revert puts back exactly what was read before.
            self.res.rollback = "left to the device"
            self.res.error = f"{exc}; {self._reverts()}"
            return
        self._restore_back(exc, intent)
        if self.reverts_at is None:
            return
        if self.res.rollback is not None and self.res.rollback.startswith("FAILED"):
            self.res.error = (
                f"{exc}; ROLLBACK FAILED ({self.res.rollback.removeprefix('FAILED: ')}): "
                + self._reverts()
                + "; check it then"
            )
            return
        try:
            self._confirm()
        except DeviceError as cexc:
            self.res.error = (
                f"{self.res.error}; the pending revert could not be cancelled ({cexc}): "
                + self._reverts()
            )

    def _restore_back(self, exc: DeviceError, intent: _Intent) -> None:
        why = str(exc)
        if not self.sent and self.session is not None and not self.session.sent:
            # Refused before a single command went out (e.g. sudo refused the secret and
            # closed the session): the host is as it was, no need to reopen and look.
            self.res.rollback = "nothing to undo"
            self.res.error = f"{why}; rolled back: {self.res.rollback}"
            return
        try:
            undone = self._restore(exc, intent)
        except DeviceError as rexc:
            self.res.rollback = f"FAILED: {rexc}"
            self.res.error = (
                f"{why}; ROLLBACK FAILED ({rexc}): the host may be half-applied, check it by hand"
            )
            return
        self.res.rollback = "restored" if undone else "nothing to undo"
        self.res.error = f"{why}; rolled back: {self.res.rollback}"

    def _restore(self, exc: DeviceError, intent: _Intent) -> bool:
        """Put the touched loopbacks and the saved file back as `intent.before` had them
        (over a new session if the old one was lost); True when something was undone.
        DeviceError when the host does not read back as before."""
        s = self.session
        if s is None or isinstance(exc, ConnectionLostError):
            self._close()
            s = self._connect()
        undone = False
        scope = intent.plan.scope
        now = self._read(s)
        restore = self.driver.restore(self.host, intent.before, now, scope, self.artifacts)
        if restore:
            self.driver.push(s, self.host, restore)
            undone = True
        old_file = intent.saved[0] if intent.saved is not None and intent.write else None
        if old_file is not None and self.persist is not None:
            cur = self._read_saved(s)
            if cur is not None and cur[0].content != old_file.content:
                self.persist.restore_saved(s, self.host, old_file)
                undone = True
                cur = self._read_saved(s)
                if cur is None or cur[0].content != old_file.content:
                    raise DeviceError(f"{old_file.path} does not read back as before")
        now = self._read(s)
        left = plan_restore(intent.before.loopbacks, now.loopbacks, scope, self.policy)
        if not left.empty:
            raise DeviceError("still differs: " + "; ".join(str(c) for c in left.changes))
        lines = self.driver.restore(self.host, intent.before, now, scope, self.artifacts)
        if lines:
            raise DeviceError("still differs: would send " + "; ".join(c.strip() for c in lines))
        return undone

    def _diff(self, intent: _Intent) -> str:
        out = [f"# {self.host.name}: {note}" for note in intent.impact]
        if isinstance(self.driver, ShowsBlocks):
            out += self.driver.block_diff(self.host, intent.before, intent.plan, self.artifacts)
        for lb in self._want(intent.before):
            lines = diff_lines(intent.before.get(lb.name), lb.name, intent.plan)
            if lines:
                out += [f"--- {self.host.name} {lb.name} (now)"]
                out += [f"+++ {self.host.name} {lb.name} (after apply)", *lines]
        if intent.saved is not None and intent.write:
            old, new = intent.saved
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
    t0 = time.monotonic()
    res = HostResult(name=job.host.name, platform=job.host.platform, status="failed")
    try:
        pipeline = _Pipeline(
            job, driver or platforms.driver(job.host.platform), cancel or threading.Event(), res
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


def _put_on(q: queue.SimpleQueue[int], i: int) -> Callable[[Future[HostResult]], None]:
    def done(_: Future[HostResult]) -> None:
        q.put(i)

    return done


def _tracked(flight: InFlight, i: int, job: Job, cancel: threading.Event) -> HostResult:
    flight.start(i, job.host.name)
    try:
        return run_host(job, cancel)
    finally:
        flight.end(i)


def run_fleet(
    jobs: Sequence[Job],
    workers: int,
    cancel: threading.Event | None = None,
    on_result: Callable[[HostResult], None] | None = None,
    flight: InFlight | None = None,
) -> list[HostResult]:
    """Run `jobs` on a pool of `workers` threads; results in the order of `jobs`.

    After `cancel` is set, hosts not yet started are reported as not contacted, and hosts
    in flight finish (or roll back) their current step. `flight` follows the hosts in
    flight."""
    # Imported here: local mode runs one host in the calling thread and need not load it.
    from concurrent.futures import ThreadPoolExecutor

    cancel = cancel or threading.Event()
    flight = flight or InFlight()
    results: dict[int, HostResult] = {}
    # Each finished future names itself on a queue: collecting is O(1) per host, where
    # concurrent.futures.wait over the pending set costs O(pending) per call, O(n^2) in all.
    finished: queue.SimpleQueue[int] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loopbackctl") as pool:
        futures: list[Future[HostResult]] = []
        for i, job in enumerate(jobs):
            f = pool.submit(_tracked, flight, i, job, cancel)
            f.add_done_callback(_put_on(finished, i))
            futures.append(f)
        while len(results) < len(jobs):
            try:
                i = finished.get(timeout=0.2)  # wake up now and then: signals run here
            except queue.Empty:
                continue
            r = results[i] = futures[i].result()
            if on_result is not None:
                on_result(r)
    return [results[i] for i in range(len(jobs))]

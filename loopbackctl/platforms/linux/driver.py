"""Linux at runtime: `lo` read with `ip -j`, changed with `ip`, persisted with netplan.

The `ip` commands are the iproute2 template (linux/iproute2.j2, or the user's) rendered
with the plan's changes — `up`, `add`, `remove`, `down` — and sent line by line in the
order it writes them, each checked first (see `iproute2`); the netplan file is the netplan
template's text, byte for byte. So a user's template reaches the host, and an empty plan
renders (and sends) nothing.

Quirks (iproute2, kernel 6.x), which the shipped template's order follows:
- Taking lo down deletes its global IPv6 addresses, so `up` is always sent first and
  `down` (only ever to put lo back as it was) last.
- An IPv6 address is one per address whatever its prefix length: `ip address replace
  A/64` while A/128 is on lo changes nothing (exit 0), and a later `del A/128` then leaves
  no A at all. Removals go before additions, so a prefix-length change is a del, then
  an add.
- `ip address add` of an existing address fails ("Address already assigned" on new
  kernels, "File exists" on old ones): `ip address replace` makes a re-push harmless.
- With IPv6 disabled on lo (net.ipv6.conf.lo.disable_ipv6=1, or a kernel without IPv6)
  lo holds no IPv6 address and `ip` refuses to add one: such addresses are not planned,
  and a check says why they are missing.

The kernel's own 127.0.0.1/8 and ::1/128 are intended on every lo the host declares
(local mode's always): a Linux lo without them is drift, and apply restores them.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, cast

from loopbackctl.errors import DeviceError, ParseError, TemplateError
from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.plan import Change, Plan, plan_restore
from loopbackctl.platforms.base import Observed, SavedFile, Session, Undo
from loopbackctl.platforms.linux import (
    LOOPBACK4,
    LOOPBACK6,
    PROTECTED,
    health,
    iproute2,
    parse,
    revert,
)
from loopbackctl.platforms.linux.parse import LO, READ_IPV6
from loopbackctl.templating import Rendered
from loopbackctl.transport import ping as pinger
from loopbackctl.transport.framing import Shell
from loopbackctl.transport.options import ConnectOptions

if TYPE_CHECKING:
    from loopbackctl.platforms.base import (
        ChecksTemplates,
        Confirming,
        Driver,
        Locking,
        Persisting,
        Pinging,
    )

READ_LO = "ip -j addr show dev lo"
NETPLAN_DIR = "/etc/netplan"
NETPLAN_FILE = "60-loopbackctl-lo.yaml"
ARTIFACT = "iproute2"


@dataclass
class _Todo:
    """What the iproute2 template is asked to lay out: its `up`, `add`, `remove`, `down`."""

    up: bool = False
    add: list[IPInterface] = field(default_factory=list)
    remove: list[IPInterface] = field(default_factory=list)
    down: bool = False

    def values(self) -> dict[str, object]:
        return {
            "up": self.up,
            "add": [a.with_prefixlen for a in self.add],
            "remove": [a.with_prefixlen for a in self.remove],
            "down": self.down,
        }

    def asked(self, values: dict[str, object]) -> iproute2.Asked:
        given = [*cast(list[str], values["add"]), *cast(list[str], values["remove"])]
        return iproute2.Asked(frozenset(self.remove), self.down, frozenset(given))

    def commands(self, artifacts: Rendered) -> list[str]:
        """The template rendered with these values, as the commands it lays out."""
        values = self.values()
        return iproute2.commands(artifacts.render(ARTIFACT, values), self.asked(values))


def _refusal(host: Host, artifacts: Rendered, exc: iproute2.Refused) -> str:
    return (
        f"{artifacts.filename(ARTIFACT)}: for host {host.name}, rendered {exc}; fix the"
        " template (--templates)"
    )


def _shell(session: Session) -> Shell:
    return cast(Shell, session)


def _declared(host: Host) -> Loopback | None:
    return next((lb for lb in host.loopbacks if lb.name == LO), None)


class LinuxDriver:
    """Driver (and Persisting, Pinging, Confirming) for platform `linux` over a Shell: SSH
    (transport.shell), or this machine (transport.local) for local mode."""

    def connect(self, host: Host, options: ConnectOptions) -> Session:
        if options.transport == "local":
            from loopbackctl.transport.local import LocalShell

            return LocalShell(host.name, options)
        from loopbackctl.transport.shell import open_shell

        return open_shell(host, options)

    def lock(self, session: Session, host: Host, holder: str) -> None:
        """apply's lock, held by the session's shell on the host (loopbackctl.locks)."""
        from loopbackctl.locks import lock_shell

        lock_shell(session, holder)

    def read(self, session: Session, host: Host) -> Observed:
        """lo, whether it can hold IPv6, and whether a revert is pending on it, in one
        round trip; health when the host declares lo (a host that declares none is not
        managed here)."""
        sh = _shell(session)
        res, res6, held = sh.exec_many([READ_LO, READ_IPV6, revert.READ_PENDING])
        for r in (res, res6):
            if not r.ok:
                raise DeviceError(sh.refusal(r))
        try:
            state = parse.parse_ip_addr(res.output)
            ipv6 = parse.ipv6_status(res6.output)
        except ParseError as exc:
            raise ParseError(f"{sh.where}: could not read lo: {exc}") from None
        if state is None:
            raise ParseError(f"{sh.where}: `{READ_LO}` answered no interface")
        if state.link_type != "loopback":
            raise ParseError(f"{sh.where}: lo is a {state.link_type} link, not a loopback")
        lo = _declared(host)
        checks = [] if lo is None else health.link_checks(state, ipv6)
        checks += [] if lo is None else health.address_checks(state, ipv6, lo)
        pending = revert.pending(held, sh.where)
        checks += [pending] if lo is not None and pending is not None else []
        return Observed(
            (state.loopback(),),
            ip_versions=frozenset({4, 6}) if ipv6.enabled else frozenset({4}),
            health=tuple(checks),
        )

    def wanted(self, host: Host, observed: Observed, *, purge: bool) -> tuple[Loopback, ...]:
        """The host's lo plus the kernel's own addresses, without IPv6 ones while lo
        cannot hold IPv6. A host that declares no lo wants nothing, except under purge
        (which the runner grants only to a host that declares its loopbacks, e.g.
        `loopbacks: []`): then lo with the kernel's addresses alone, so every other goes."""
        lo = _declared(host)
        loopbacks = host.loopbacks
        if lo is None:
            if not (purge and host.declares_loopbacks):
                return loopbacks
            lo = Loopback(LO)
            loopbacks = (*loopbacks, lo)
        kernel = [a for a in (LOOPBACK4, LOOPBACK6) if a.version in observed.ip_versions]
        mine = [a for a in lo.addresses if a.version in observed.ip_versions]
        want = replace(
            lo,
            addresses=tuple(dict.fromkeys([*kernel, *mine])),
            absent_addresses=tuple(a for a in lo.absent_addresses if a not in PROTECTED),
        )
        return tuple(want if lb is lo else lb for lb in loopbacks)

    def commands(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Rendered
    ) -> list[str]:
        """The iproute2 template rendered with the plan's changes, as commands (see
        `iproute2`); [] for an empty plan, which renders nothing."""
        return self._laid_out(host, plan.changes, artifacts)

    def restore(
        self, host: Host, before: Observed, now: Observed, scope: Sequence[str], artifacts: Rendered
    ) -> list[str]:
        """The iproute2 template rendered with the changes back to `before`."""
        from loopbackctl.platforms.linux import PLATFORM

        back = plan_restore(before.loopbacks, now.loopbacks, scope, PLATFORM.policy)
        return self._laid_out(host, back.changes, artifacts)

    def check_templates(self, host: Host, artifacts: Rendered) -> None:
        """Render the iproute2 template for every step at once (up, add and remove every
        address of the host's lo, down) and refuse it (TemplateError) when a line would
        not be sent; `render`'s own text too. A host that declares no lo renders nothing
        at apply time."""
        lo = _declared(host)
        if lo is None:
            return
        mine = [*lo.addresses, *lo.absent_addresses]
        removable = [a for a in dict.fromkeys(mine) if a not in PROTECTED]
        kernel_and_mine = list(dict.fromkeys([LOOPBACK4, LOOPBACK6, *mine]))
        every = _Todo(up=True, add=kernel_and_mine, remove=removable, down=True)
        values = every.values()
        asked = every.asked(values)
        try:
            if ARTIFACT in artifacts:
                iproute2.commands(artifacts[ARTIFACT], iproute2.Asked(given=asked.given))
            iproute2.commands(artifacts.render(ARTIFACT, values), asked)
        except iproute2.Refused as exc:
            raise TemplateError(_refusal(host, artifacts, exc)) from None

    @staticmethod
    def _laid_out(host: Host, changes: Sequence[Change], artifacts: Rendered) -> list[str]:
        if not changes:
            return []
        todo = _Todo()
        for c in changes:
            if c.interface != LO or c.kind in ("create", "delete", "set_primary"):
                raise DeviceError(f"{host.name}: Linux cannot {c} (only lo's addresses and state)")
            if c.kind == "enable":
                todo.up = True
            elif c.kind == "disable":
                todo.down = True
            elif c.kind == "add_address" and c.address is not None:
                todo.add.append(c.address)
            elif c.kind == "remove_address" and c.address is not None:
                todo.remove.append(c.address)
            # descriptions do not exist on Linux lo (refused by validation)
        try:
            return todo.commands(artifacts)
        except TemplateError as exc:
            raise DeviceError(f"{exc}; none of it was sent") from None
        except iproute2.Refused as exc:
            raise DeviceError(f"{_refusal(host, artifacts, exc)}; none of it was sent") from None

    def push(self, session: Session, host: Host, commands: Sequence[str]) -> None:
        if commands:
            _shell(session).configure_as_root(commands)

    def save(self, session: Session, host: Host) -> None:
        return None  # runtime state is saved by netplan (Persisting), when asked for

    # -- Persisting: netplan ------------------------------------------------------------

    @staticmethod
    def netplan_path(host: Host) -> str:
        directory = str(host.settings.get("netplan_dir") or NETPLAN_DIR).rstrip("/") or "/"
        return f"{directory}/{NETPLAN_FILE}"

    def read_saved(
        self, session: Session, host: Host, artifacts: Mapping[str, str]
    ) -> tuple[SavedFile, SavedFile] | None:
        if host.settings.get("persist") != "netplan":
            return None
        sh = _shell(session)
        sh.become_root()  # netplan files are root-only (mode 600)
        path = self.netplan_path(host)
        raw = sh.read_file(path)
        have = None if raw is None else raw.decode("utf-8", "replace")
        return SavedFile(path, have), SavedFile(path, artifacts["netplan"])

    def write_saved(self, session: Session, host: Host, want: SavedFile) -> list[str]:
        sh = _shell(session)
        sh.become_root()
        if want.content is None:
            return self._remove(sh, want.path)
        return sh.write_file(want.path, want.content.encode())

    def restore_saved(self, session: Session, host: Host, old: SavedFile) -> list[str]:
        sh = _shell(session)
        sh.become_root()
        if old.content is None:
            return self._remove(sh, old.path)
        return sh.write_file(old.path, old.content.encode())

    @staticmethod
    def _remove(sh: Shell, path: str) -> list[str]:
        cmd = f"rm -f '{path}'"
        sh.configure([cmd])
        return [cmd]

    # -- Confirming: a revert job on the host (see revert) ------------------------------

    def arm(self, session: Session, host: Host, undo: Undo, timeout: float) -> float:
        revert.arm(_shell(session), revert_lines(undo), timeout)
        return timeout

    def confirm(self, session: Session, host: Host) -> None:
        revert.confirm(_shell(session))

    # -- Pinging ------------------------------------------------------------------------

    def ping_own(
        self, session: Session, host: Host, addresses: Sequence[IPInterface]
    ) -> list[str | None]:
        out: list[str | None] = [None] * len(addresses)
        todo: list[tuple[int, str]] = []
        for i, a in enumerate(addresses):
            if not pinger.allowed(a.ip):
                out[i] = "not pinged: outside the ping allow-list"
            else:
                todo.append((i, f"ping -n -q -c 1 -W 1 {a.ip}"))
        results = _shell(session).exec_many([cmd for _, cmd in todo]) if todo else []
        for (i, _), res in zip(todo, results, strict=True):
            if not res.ok:
                said = " ".join(res.output.split())[-120:]
                out[i] = f"no answer (exit {res.status}): {said}"
        return out


def revert_lines(undo: Undo) -> list[str]:
    """The revert job's commands: the plan's changes to lo undone in plain iproute2 (the
    template is for the change; these only put back what was read) — lo up first if the
    change took it down, the addresses it added deleted (never the kernel's own), those it
    removed put back, lo down last if it was down — then the netplan file as it was
    (removed if it was absent). Each undoes one step: run one by one, a step the change
    never reached fails harmlessly."""
    up = down = False
    remove: list[IPInterface] = []
    add: list[IPInterface] = []
    for c in undo.plan.changes:
        if c.interface != LO:
            continue
        if c.kind == "enable":
            down = True
        elif c.kind == "disable":
            up = True
        elif c.kind == "add_address" and c.address is not None and c.address not in PROTECTED:
            remove.append(c.address)
        elif c.kind == "remove_address" and c.address is not None:
            add.append(c.address)
    lines = ["ip link set dev lo up"] if up else []
    lines += [f"ip address del {a.with_prefixlen} dev lo" for a in remove]
    lines += [f"ip address replace {a.with_prefixlen} dev lo" for a in add]
    lines += ["ip link set dev lo down"] if down else []
    saved = undo.saved
    if saved is not None:
        path = shlex.quote(saved.path)
        # A write cut short leaves its temp files (Shell.write_file's names) behind.
        directory, _, name = saved.path.rpartition("/")
        tmp = f"{directory}/.{name}.loopbackctl-tmp"
        lines.append(f"rm -f {shlex.quote(tmp)} {shlex.quote(tmp + '.b64')}")
        if saved.content is None:
            lines.append(f"rm -f {path}")
        else:
            b64 = base64.b64encode(saved.content.encode()).decode()
            tmp = shlex.quote(saved.path + ".loopbackctl-revert")
            put = (
                f"umask 077 && printf '%s' '{b64}' | base64 -d > {tmp} && chmod 600 {tmp}"
                f" && mv -f {tmp} {path}"
            )
            lines.append(f"sh -c {shlex.quote(put)}")
    return lines


if TYPE_CHECKING:  # mypy checks that LinuxDriver keeps the runner's contract
    _driver: Driver = LinuxDriver()
    _confirming: Confirming = LinuxDriver()
    _persisting: Persisting = LinuxDriver()
    _pinging: Pinging = LinuxDriver()
    _checks_templates: ChecksTemplates = LinuxDriver()
    _locking: Locking = LinuxDriver()

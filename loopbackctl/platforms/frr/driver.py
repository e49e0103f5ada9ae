"""FRRouting at runtime, over a POSIX shell (transport.shell): lo's addresses configured in
zebra through vtysh, so that zebra owns them and `write memory` keeps them in frr.conf.

Read (one round trip): `vtysh -c 'show interface lo json' -c 'show running-config'` and
the kernel's `ip -j addr show dev lo`. The loopback loopbackctl plans with holds the
addresses zebra and the kernel agree on (the kernel's own 127.0.0.1/8 and ::1/128, which
zebra does not show, included); an address only one of them has is missing, so it is
drift and apply configures it again. Apply sends the hier_config remediation of the
running `interface lo` block against the rendered one, as one vtysh call whose exit
status and `% ` lines are checked.

loopbackctl owns only the address lines of `interface lo`: every other line of the block
(`ip ospf area 0`, a description...) is kept as the router has it, and so is an address
the inventory does not name, unless purged (as on Linux).
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from loopbackctl.errors import DeviceError, ParseError, TemplateError
from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.plan import Plan
from loopbackctl.platforms.base import Observed, Session, Undo
from loopbackctl.platforms.frr import parse
from loopbackctl.platforms.frr.quirks import (
    CLEAR,
    CONFIG_SYNTAX,
    LO,
    MAX_CALL,
    OWNED,
    PROTECTED,
    READ_KERNEL,
    REFUSAL,
    ROUTER_ID_LINE,
    SHOW_BGP,
    SHOW_LO,
    SHOW_OSPF,
    SHOW_OSPF6,
    SHOW_ROUTE,
    SHOW_RUNNING,
    VTYSH,
    WRITE_MEMORY,
    WRITE_OK,
)
from loopbackctl.platforms.linux import revert
from loopbackctl.platforms.linux.parse import parse_ip_addr
from loopbackctl.remediation import (
    ConfigTextError,
    block_diff,
    normalise,
    remediation,
    split_blocks,
)
from loopbackctl.result import Check
from loopbackctl.routing import MeshTarget, Probe, RouterIdFact, RouteSeen
from loopbackctl.transport.framing import Result, Shell
from loopbackctl.transport.options import ConnectOptions

if TYPE_CHECKING:
    from loopbackctl.platforms.base import (
        ChecksTemplates,
        Confirming,
        Driver,
        Locking,
        Meshing,
        Routing,
        ShowsBlocks,
    )

CONFIG_ARTIFACT = "config"
PING = "ping -n -q -c 1 -W 1 -I {source} {target}"


def vtysh(*lines: str) -> str:
    """The shell command running `lines` in one vtysh call."""
    return " ".join([VTYSH, *(f"-c {shlex.quote(line)}" for line in lines)])


def _shell(session: Session) -> Shell:
    return cast(Shell, session)


def _refused(res: Result) -> str | None:
    """What vtysh said when it refused (exit status, or a `% ` line), else None."""
    said = [line.strip() for line in res.output.splitlines() if REFUSAL.match(line.strip())]
    if res.ok and not said:
        return None
    return "; ".join(said) or " ".join(res.output.split())[:200] or f"exit {res.status}"


class FrrDriver:
    """Driver (and ChecksTemplates, ShowsBlocks, Routing, Meshing, Confirming) for platform
    `frr`. Stateless."""

    def connect(self, host: Host, options: ConnectOptions) -> Session:
        from loopbackctl.transport.shell import open_shell

        return open_shell(host, options)

    # -- read -------------------------------------------------------------------------

    def lock(self, session: Session, host: Host, holder: str) -> None:
        """apply's lock, held by the session's shell on the host (loopbackctl.locks)."""
        from loopbackctl.locks import lock_shell

        lock_shell(session, holder)

    def read(self, session: Session, host: Host) -> Observed:
        sh = _shell(session)
        zebra_res, kernel_res, held = sh.exec_many(
            [vtysh(SHOW_LO, SHOW_RUNNING), READ_KERNEL, revert.READ_PENDING]
        )
        for res in (zebra_res, kernel_res):
            if not res.ok:
                raise DeviceError(sh.refusal(res))
        try:
            read = parse.parse_read(zebra_res.output)
            kernel = parse_ip_addr(kernel_res.output)
        except ParseError as exc:
            raise ParseError(f"{sh.where}: could not read lo: {exc}") from None
        if kernel is None or kernel.link_type != "loopback":
            raise ParseError(f"{sh.where}: `{READ_KERNEL}` did not describe a loopback")
        agreed = tuple(
            a
            for a in kernel.addresses
            if a in read.zebra or a in PROTECTED or (a.version == 6 and a.ip.is_link_local)
        )
        lo = Loopback(LO, agreed, shutdown=not kernel.up)
        v4 = [
            a.ip for a in agreed if isinstance(a, ipaddress.IPv4Interface) and not a.ip.is_loopback
        ]
        rid = max(v4) if v4 else None
        running = {LO: read.running.lo} if read.running.lo is not None else {}
        health = _disagreements(host, frozenset(kernel.addresses), read)
        pending = revert.pending(held, sh.where)
        health += (pending,) if pending is not None else ()
        return Observed((lo,), rid, running, health=health)

    def wanted(self, host: Host, observed: Observed, *, purge: bool) -> tuple[Loopback, ...]:
        return host.loopbacks

    # -- the configuration --------------------------------------------------------------

    def _rendered(self, host: Host, artifacts: Mapping[str, str]) -> tuple[str, ...]:
        """The child lines the template gives `interface lo`; TemplateError when it lays
        out anything else (loopbackctl pushes the lo block only) or deletes lo."""
        text = artifacts.get(CONFIG_ARTIFACT)
        if text is None:
            raise TemplateError(f"{host.name}: no rendered FRR configuration")
        try:
            blocks = split_blocks(text, CONFIG_SYNTAX)
        except ConfigTextError as exc:
            raise TemplateError(
                f"{host.name}: the FRR template renders {exc}; it may lay out only the"
                " `interface lo` block"
            ) from None
        lines = blocks.get(LO)
        if lines is None:
            raise TemplateError(
                f"{host.name}: the FRR template renders no `interface lo` block (lo cannot"
                " be deleted)"
            )
        return lines

    @staticmethod
    def _running(observed: Observed) -> tuple[str, ...]:
        text = observed.running.get(LO)
        return tuple(text.splitlines()[1:]) if text is not None else ()

    def intended(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Mapping[str, str]
    ) -> dict[str, tuple[str, ...] | None]:
        """`interface lo` as apply makes it: the rendered lines, plus the running lines
        loopbackctl does not own: every line but addresses, and the addresses the
        inventory does not name that the plan leaves alone (unmanaged, or configured in
        zebra but not on lo; purge removes the unmanaged ones)."""
        named = {a for lb in host.loopbacks for a in (*lb.addresses, *lb.absent_addresses)}
        on_lo = {a for lb in observed.loopbacks for a in lb.addresses}
        left = set(plan.unmanaged)
        rendered = self._rendered(host, artifacts)
        wanted = set(normalise(rendered, CONFIG_SYNTAX))
        running = self._running(observed)
        out = []  # in the router's order, so that a converged block reads the same
        for line in running:
            m = OWNED.match(line.strip())
            addr = _address(m.group("addr")) if m is not None else None
            kept = m is None or (addr not in named and (addr in left or addr not in on_lo))
            if kept or normalise([line], CONFIG_SYNTAX)[0] in wanted:
                out.append(line)
        have = set(normalise(running, CONFIG_SYNTAX))
        out += [line for line in rendered if normalise([line], CONFIG_SYNTAX)[0] not in have]
        return {LO: tuple(out)}

    def commands(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Mapping[str, str]
    ) -> list[str]:
        """The remediation of the running `interface lo` against the intended one; and an
        address the plan adds that zebra has configured but lo lacks, configured again
        (zebra then puts it back on lo); `no shutdown` when lo is down. Nothing for a
        router that declares no lo (it is not managed here)."""
        if LO not in plan.scope:
            return []
        running = self._running(observed)
        lines = remediation({LO: running}, self.intended(host, observed, plan, artifacts),
                            CONFIG_SYNTAX)  # fmt: skip
        have = set(normalise(running, CONFIG_SYNTAX))
        again: list[str] = []
        for c in plan.changes:
            if c.kind == "enable":  # zebra brings lo up (and puts its addresses back)
                again.insert(0, CONFIG_SYNTAX.indent + "no shutdown")
            elif c.kind == "add_address" and c.address is not None:
                line = normalise([_address_line(c.address)], CONFIG_SYNTAX)[0]
                if line in have and line not in lines:
                    again.append(line)
        if again:
            lines += ([] if lines else [CONFIG_SYNTAX.opener.format(name=LO)]) + again
        return lines

    def check_templates(self, host: Host, artifacts: Mapping[str, str]) -> None:
        """TemplateError (exit 2, nobody contacted) when the rendered configuration of a
        host that declares lo holds anything but the `interface lo` block."""
        if any(lb.name == LO for lb in host.loopbacks):
            self._rendered(host, artifacts)

    def restore(
        self,
        host: Host,
        before: Observed,
        now: Observed,
        scope: Sequence[str],
        artifacts: Mapping[str, str],
    ) -> list[str]:
        """The remediation back to `interface lo` as `before` read it (the templates play
        no part: the router goes back to what it ran)."""
        return remediation({LO: self._running(now)}, {LO: self._running(before)}, CONFIG_SYNTAX)

    def block_diff(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Mapping[str, str]
    ) -> list[str]:
        if LO not in plan.scope:
            return []
        intended = self.intended(host, observed, plan, artifacts)
        return block_diff(host.name, {LO: self._running(observed)}, intended, CONFIG_SYNTAX)

    # -- push and save ----------------------------------------------------------------

    def push(self, session: Session, host: Host, commands: Sequence[str]) -> None:
        """Send `commands` as vtysh calls (`configure terminal`, the lines, `end`); a
        change longer than one call re-opens its block in the next. DeviceError at the
        first refusal (vtysh runs nothing after it; the caller restores)."""
        sh = _shell(session)
        for call in _calls([c.strip() for c in commands]):
            command = vtysh("configure terminal", *call, "end")
            sh.sent.append(command)  # before it goes: once sent, it may have run
            said = _refused(sh.exec(command))
            if said is not None:
                raise DeviceError(f"{host.name}: FRR refused the change (vtysh): {said}")

    def save(self, session: Session, host: Host) -> None:
        """`write memory`; DeviceError unless vtysh confirms with [OK]."""
        sh = _shell(session)
        res = sh.exec(vtysh(WRITE_MEMORY))
        if not res.ok or WRITE_OK not in res.output:
            said = _refused(res) or (res.output.strip().splitlines() or ["no answer"])[-1]
            raise DeviceError(
                f"{host.name}: {WRITE_MEMORY} did not confirm ({said}); the change is live "
                "but not saved: run `vtysh -c 'write memory'` on the router"
            )

    # -- Confirming: a revert job on the router (see linux.revert) ----------------------

    def arm(self, session: Session, host: Host, undo: Undo, timeout: float) -> float:
        revert.arm(_shell(session), revert_lines(undo), timeout)
        return timeout

    def confirm(self, session: Session, host: Host) -> None:
        revert.confirm(_shell(session))

    # -- routing (verify --routing) -----------------------------------------------------

    def routing_facts(self, session: Session, host: Host) -> list[RouterIdFact]:
        """OSPF, OSPFv3 and BGP instances' router-ids, with what their configuration sets;
        a daemon that is not running has no instance."""
        sh = _shell(session)
        asks = [("ospf", SHOW_OSPF), ("ospf6", SHOW_OSPF6), ("bgp", SHOW_BGP)]
        results = sh.exec_many([vtysh(SHOW_RUNNING)] + [vtysh(q) for _, q in asks])
        if not results[0].ok:
            raise DeviceError(sh.refusal(results[0]))
        try:
            configured = parse.parse_running(results[0].output).router_ids
            facts: list[RouterIdFact] = []
            for (proto, query), res in zip(asks, results[1:], strict=True):
                ids = self._instances(proto, query, res)
                for vrf, rid in ids.items():
                    block = f"router {proto}" + ("" if vrf == parse.DEFAULT_VRF else f" vrf {vrf}")
                    facts.append(
                        RouterIdFact(
                            proto,
                            vrf,
                            rid,
                            configured.get((proto, vrf)),
                            ROUTER_ID_LINE[proto],
                            block,
                            CLEAR.get(proto),
                        )
                    )
        except ParseError as exc:
            raise ParseError(f"{sh.where}: {exc}") from None
        return facts

    @staticmethod
    def _instances(proto: str, query: str, res: Result) -> parse.RouterIds:
        if not res.ok:
            said = res.output.strip()
            if said.endswith("is not running"):
                return {}
            raise ParseError(f"`{query}` failed (exit {res.status}): {said[:200]}")
        if not res.output.strip():
            return {}  # ospf6d prints nothing without an instance
        docs, rest = parse.split_json(res.output, query)
        if len(docs) != 1 or rest.strip():
            raise ParseError(f"`{query}` printed more than one JSON document")
        if proto == "bgp":
            return parse.bgp_router_ids(docs[0])
        return parse.ospf_router_ids(docs[0], proto)

    def mesh(self, session: Session, host: Host, targets: Sequence[MeshTarget]) -> list[Probe]:
        """Routes to every target in one vtysh call; then, in one command, an echo to
        each target reached by a route of a routing protocol, sourced from this router's
        own loopback of the same IP version, all at once."""
        if not targets:
            return []
        sh = _shell(session)
        queries = [SHOW_ROUTE[t.address.version].format(prefix=t.address.network) for t in targets]
        res = sh.exec(vtysh(*queries))
        if not res.ok:
            raise DeviceError(sh.refusal(res))
        try:
            found = parse.routes(res.output, [t.address for t in targets])
        except ParseError as exc:
            raise ParseError(f"{sh.where}: {exc}") from None
        sources = _sources(host)
        pings: dict[str, str] = {}
        for t, r in zip(targets, found, strict=True):
            src = sources.get(t.address.version)
            routed = r is not None and r.installed and r.protocol not in ("connected", "local")
            if routed and src is not None:
                pings[str(t.address.ip)] = PING.format(source=src, target=t.address.ip)
        echoes = _echo(sh, pings)
        out = []
        for t, r in zip(targets, found, strict=True):
            seen = RouteSeen(r.protocol, r.installed, r.nexthops) if r is not None else None
            key = str(t.address.ip)
            if key in echoes:
                status = echoes[key]
                why = None if status in (0, 1) else f"ping exit {status}"
                out.append(Probe(t, seen, status == 0, why))
            else:
                version = "IPv4" if t.address.version == 4 else "IPv6"
                why = None if seen is None else f"not pinged: {host.name} has no {version} loopback"
                out.append(Probe(t, seen, None, why))
        return out


def revert_lines(undo: Undo) -> list[str]:
    """The revert job's commands: each line of the change under `interface lo` undone in
    a vtysh call of its own (so that one the change never reached, refused, does not stop
    the others): a line it removed that the router had put back, a line it added that the
    router did not have removed, removals first; lo taken down again in the kernel if it
    was down without zebra's `shutdown`. frr.conf needs nothing: apply writes memory only
    after it confirmed."""
    text = undo.before.running.get(LO)
    had = set(normalise(text.splitlines()[1:] if text is not None else (), CONFIG_SYNTAX))
    drop: list[str] = []
    put: list[str] = []
    for raw in undo.commands:
        line = raw.strip()
        if not line or CONFIG_SYNTAX.block.fullmatch(line) or line == CONFIG_SYNTAX.closer:
            continue
        if line.startswith("no "):
            if normalise([line[3:]], CONFIG_SYNTAX)[0] in had:
                put.append(line[3:])
        elif normalise([line], CONFIG_SYNTAX)[0] not in had:
            drop.append("no " + line)
    out = [vtysh("configure terminal", CONFIG_SYNTAX.opener.format(name=LO), x) for x in drop + put]
    lo = undo.before.get(LO)
    if lo is not None and lo.shutdown and normalise(["shutdown"], CONFIG_SYNTAX)[0] not in had:
        out.append("ip link set dev lo down")
    return out


def _disagreements(
    host: Host, kernel: frozenset[IPInterface], read: parse.ReadLo
) -> tuple[Check, ...]:
    """Why an address the inventory names is not as intended when zebra and the kernel
    disagree on it: each check takes the place of the common `lo ADDRESS` check."""
    lines = read.running.lo.splitlines()[1:] if read.running.lo is not None else []
    owned = [OWNED.match(line.strip()) for line in lines]
    configured = {_address(m.group("addr")) for m in owned if m is not None}
    out: list[Check] = []
    for lb in host.loopbacks:
        for a in lb.addresses if lb.name == LO and lb.state == "present" else ():
            name = f"{LO} {a}"
            if a in configured and a not in kernel:
                why = "zebra has it configured, the kernel's lo lacks it; apply configures it again"
                out.append(Check(name, False, f"{a} missing: {why}"))
            elif a in kernel and a not in read.zebra:
                why = "the kernel's lo holds it but zebra does not show it"
                out.append(Check(name, False, f"{a} missing as far as zebra knows: {why}"))
            elif a in kernel and a not in configured:
                why = "on lo, but not configured in zebra (write memory would not keep it)"
                out.append(Check(name, False, f"{a} {why}; apply configures it"))
    return tuple(out)


def _address(text: str) -> IPInterface | None:
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        return None


def _address_line(addr: IPInterface) -> str:
    return f"{'ip' if addr.version == 4 else 'ipv6'} address {addr}"


def _calls(lines: Sequence[str]) -> list[list[str]]:
    """`lines` in vtysh calls of at most MAX_CALL characters, each re-opening the block
    the lines belong to."""
    calls: list[list[str]] = []
    current: list[str] = []
    size = 0
    block: str | None = None
    for line in lines:
        opened = CONFIG_SYNTAX.block.fullmatch(line)
        if current and size + len(line) > MAX_CALL:
            calls.append(current)
            current = [block] if block is not None and opened is None else []
            size = sum(len(x) for x in current)
        if opened is not None:
            block = line
        current.append(line)
        size += len(line) + 8
    if current:
        calls.append(current)
    return calls


def _sources(host: Host) -> dict[int, str]:
    """This router's own loopback address per IP version (the first the inventory
    names), the source of its echoes."""
    out: dict[int, str] = {}
    for lb in host.loopbacks:
        if lb.state != "present":
            continue
        for a in lb.addresses:
            out.setdefault(a.version, str(a.ip))
    return out


def _echo(sh: Shell, pings: Mapping[str, str]) -> dict[str, int]:
    """Run every ping at once in one command; target → ping's exit status."""
    if not pings:
        return {}
    jobs = " ".join(
        f"({cmd} >/dev/null 2>&1; echo {shlex.quote(t)} $?) &" for t, cmd in pings.items()
    )
    res = sh.exec(f"{jobs} wait")
    out: dict[str, int] = {}
    for line in res.output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in pings and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    missing = sorted(set(pings) - set(out))
    if missing:
        raise ParseError(f"{sh.where}: no ping result for {', '.join(missing)}")
    return out


if TYPE_CHECKING:  # mypy checks that FrrDriver keeps the runner's contract
    _driver: Driver = FrrDriver()
    _checks: ChecksTemplates = FrrDriver()
    _blocks: ShowsBlocks = FrrDriver()
    _routing: Routing = FrrDriver()
    _meshing: Meshing = FrrDriver()
    _locking: Locking = FrrDriver()
    _confirming: Confirming = FrrDriver()

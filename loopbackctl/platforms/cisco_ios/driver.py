"""Cisco IOS and IOS-XE at runtime: read loopbacks from show commands and their running
configuration, send the hier_config remediation of those blocks against the rendered
template, save with `write memory`.

Imported only for fleets with IOS devices; netmiko, textfsm, ntc-templates and hier_config
are imported inside the functions that need them, never at import time. IOS quirks (refusal
strings, prompts, the enable and save dialogues, how the running configuration differs
from what a template writes) are data in `quirks`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from loopbackctl.errors import DeviceError, ParseError, TemplateError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Plan
from loopbackctl.platforms.base import Observed, Session, Undo
from loopbackctl.platforms.cisco_ios import parse, running
from loopbackctl.platforms.cisco_ios.parse import (
    SHOW_INTERFACES,
    SHOW_IP_BGP_SUMMARY,
    SHOW_IP_INTERFACE,
    SHOW_IP_OSPF,
    SHOW_IP_PROTOCOLS,
    SHOW_IPV6_BRIEF,
    SHOW_REFUSALS,
    SHOW_RUNNING_ROUTERS,
)
from loopbackctl.platforms.cisco_ios.quirks import (
    ARCHIVE_OFF,
    CLEAR,
    CONFIG_PROMPT,
    CONFIG_SYNTAX,
    NO_IPV6,
    NO_REVERT_PENDING,
    QUIRKS,
    RESELECT,
    REVERT_ARMED,
    REVERT_CONFIRM,
    REVERT_MINUTES,
    REVERT_TIMER,
    ROUTER_ID_LINE,
    SAVE_PROMPTS,
    SHOW_REVERT_TIMER,
    VRF_NOTICE,
    WRITE_MEMORY,
    WRITE_OK,
    XE_QUIRKS,
)
from loopbackctl.remediation import ConfigTextError, block_diff, remediation, split_blocks
from loopbackctl.routing import DEFAULT_VRF, RouterIdFact
from loopbackctl.transport.options import ConnectOptions

if TYPE_CHECKING:
    from loopbackctl.platforms.base import Confirming, Driver, Routing, ShowsBlocks
    from loopbackctl.transport.cli import CliQuirks

CONFIG_ARTIFACT = "config"


class IosDriver:
    """The Driver for netmiko's `cisco_ios` (and `cisco_xe`: `quirks` says which).
    Stateless: one instance serves a fleet."""

    quirks: CliQuirks = QUIRKS

    def connect(self, host: Host, options: ConnectOptions) -> Session:
        from loopbackctl.transport.cli import open_cli

        return open_cli(host, options, self.quirks)

    def read(self, session: Session, host: Host) -> Observed:
        """Every loopback on the router, from four show commands whatever their number:
        the three structured ones (see parse) and every loopback's running block."""
        ip_rows = parse.parse_show_ip_interface(session.run(SHOW_IP_INTERFACE))
        if_rows = parse.parse_show_interfaces(session.run(SHOW_INTERFACES))
        v6 = self._read_ipv6(session, host)
        blocks = running.read_blocks(session.run(running.SHOW_RUNNING_LOOPBACKS))
        if v6 is None:  # no IPv6 on this router: then none may be configured either
            with_v6 = [n for n, b in blocks.items() if running.ipv6_of(n, b).ipv6]
            if with_v6:
                raise ParseError(
                    f"{SHOW_IPV6_BRIEF!r} was refused but {', '.join(with_v6)} carry IPv6 "
                    "addresses in the running configuration; cannot read IPv6"
                )
            v6 = {r.name: () for r in ip_rows}
        names = [r.name for r in ip_rows if parse.is_loopback(r.name) and not r.deleted]
        running.check_complete(blocks, names)
        configs = {n: running.ipv6_of(n, b) for n, b in blocks.items() if v6.get(n)}
        found = parse.loopbacks(ip_rows, if_rows, v6, configs)
        vrfs = {r.name: r.vrf for r in ip_rows}
        out: list[Loopback] = []
        for lb in found:
            vrf = running.vrf_of(blocks[lb.name])
            # `show ip interface` names the VRF only for an interface with an address.
            if lb.ipv4 and vrfs.get(lb.name) != vrf:
                raise ParseError(f"{lb.name}: the VRF differs between show commands; retry")
            out.append(dataclasses.replace(lb, vrf=vrf))
        return Observed(tuple(out), parse.router_id(ip_rows), blocks)

    def _read_ipv6(
        self, session: Session, host: Host
    ) -> dict[str, tuple[ipaddress.IPv6Address, ...]] | None:
        """`show ipv6 interface brief`; None on a router without IPv6 (refused, or IPv6 not
        enabled), unless the inventory asks IPv6 of it (then one clear DeviceError)."""
        text = session.run(SHOW_IPV6_BRIEF)
        refused = next(
            (
                line.strip()
                for line in text.splitlines()
                if line.strip().startswith(SHOW_REFUSALS) or NO_IPV6.match(line.strip())
            ),
            None,
        )
        if refused is None:
            return parse.parse_show_ipv6_brief(text)
        asked = [lb.name for lb in host.loopbacks if lb.state == "present" and lb.ipv6]
        if asked:
            raise DeviceError(
                f"{host.name}: the router has no IPv6 ({SHOW_IPV6_BRIEF!r} answered "
                f"{refused!r}) but the inventory gives {', '.join(asked)} IPv6 addresses; "
                "configure IPv6 on the router or remove them from the inventory"
            )
        return None

    def wanted(self, host: Host, observed: Observed, *, purge: bool) -> tuple[Loopback, ...]:
        """The inventory's loopbacks; under purge, plus `absent` for every other loopback
        on the router (never a non-loopback interface)."""
        named = {lb.name for lb in host.loopbacks}
        extra = tuple(
            Loopback(lb.name, state="absent")
            for lb in observed.loopbacks
            if purge and lb.name not in named and parse.is_loopback(lb.name)
        )
        return tuple(host.loopbacks) + extra

    # -- the configuration: intended blocks, remediation, rollback ----------------------

    def intended(
        self, host: Host, scope: Sequence[str], artifacts: Mapping[str, str]
    ) -> dict[str, tuple[str, ...] | None]:
        """Interface → the child lines the rendered template gives it (None: absent), for
        every interface of `scope`. TemplateError when the template renders anything else
        (loopbackctl pushes managed loopback blocks only)."""
        text = artifacts.get(CONFIG_ARTIFACT)
        if text is None:
            raise TemplateError(f"{host.name}: no rendered IOS configuration")
        try:
            blocks = split_blocks(text, CONFIG_SYNTAX)
        except ConfigTextError as exc:
            raise TemplateError(
                f"{host.name}: the IOS template renders {exc}; it may lay out only the "
                "`interface LoopbackN` blocks of the inventory's loopbacks"
            ) from None
        outside = sorted(set(blocks) - {lb.name for lb in host.loopbacks})
        if outside:
            raise TemplateError(
                f"{host.name}: the IOS template renders {', '.join(outside)}, which the "
                "inventory does not name; loopbackctl pushes the named loopbacks only"
            )
        return {name: blocks.get(name) for name in scope}

    def check_templates(self, host: Host, artifacts: Mapping[str, str]) -> None:
        """TemplateError (exit 2, nobody contacted) when the rendered configuration holds
        anything but the blocks of the inventory's loopbacks."""
        self.intended(host, [lb.name for lb in host.loopbacks], artifacts)

    def commands(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Mapping[str, str]
    ) -> list[str]:
        """The hier_config remediation of the running blocks of `plan.scope` against the
        rendered ones (the model plan is not used: the template is what is intended)."""
        intended = self.intended(host, plan.scope, artifacts)
        return remediation(self._running(observed, intended), intended, CONFIG_SYNTAX)

    def restore(
        self,
        host: Host,
        before: Observed,
        now: Observed,
        scope: Sequence[str],
        artifacts: Mapping[str, str],
    ) -> list[str]:
        """The remediation back to the blocks `before` read (absent ones deleted; the
        templates play no part: the device goes back to what it ran)."""
        target: dict[str, tuple[str, ...] | None] = {}
        old = self._running(before, dict.fromkeys(scope))
        for name in scope:
            target[name] = old.get(name)
        return remediation(self._running(now, target), target, CONFIG_SYNTAX)

    def block_diff(
        self, host: Host, observed: Observed, plan: Plan, artifacts: Mapping[str, str]
    ) -> list[str]:
        intended = self.intended(host, plan.scope, artifacts)
        return block_diff(host.name, self._running(observed, intended), intended, CONFIG_SYNTAX)

    @staticmethod
    def _running(observed: Observed, scope: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for name in scope:
            text = observed.running.get(name)
            if text is not None:
                out[name] = tuple(text.splitlines()[1:])
        return out

    # -- push and save --------------------------------------------------------------------

    def push(self, session: Session, host: Host, commands: Sequence[str]) -> None:
        """Send `commands` in one configuration session; DeviceError names the first
        line IOS refused (IOS goes on with the lines after it: the caller restores).
        IOS's notice that a VRF change removed addresses is expected only for an
        interface whose VRF line this push changes."""
        if not commands:
            return
        output = session.configure(commands)
        found = self.quirks.find_refusal(output, commands)
        if found is not None:
            command, message = found
            what = f"refused {command!r}" if command else "refused the change"
            raise DeviceError(f"{host.name}: IOS {what}: {message}")
        changed = _vrf_changes(commands)
        for line in output.splitlines():
            m = VRF_NOTICE.match(line.strip())
            if m is not None and m.group("interface") not in changed:
                raise DeviceError(f"{host.name}: IOS said, unasked: {line.strip()}")

    def save(self, session: Session, host: Host) -> None:
        """`write memory` (confirming IOS's questions, if it asks); DeviceError unless IOS
        confirms with [OK]."""
        from loopbackctl.transport.cli import CliSession

        if isinstance(session, CliSession):
            output = session.dialogue(WRITE_MEMORY, SAVE_PROMPTS)
        else:
            output = session.run(WRITE_MEMORY)
        if WRITE_OK not in output:
            last = output.strip().splitlines()[-1] if output.strip() else "no answer"
            raise DeviceError(
                f"{host.name}: {WRITE_MEMORY} did not confirm ({last}); the change is live "
                "but not saved: run `write memory` on the router"
            )

    # -- confirm-or-revert: Configuration Rollback Confirmed Change -------------------------

    def arm(self, session: Session, host: Host, undo: Undo, timeout: float) -> float:
        """`configure terminal revert timer M` (M = `timeout` in whole minutes, rounded up,
        1..120), then `end`: IOS archives its running configuration and puts it back by
        itself M minutes later unless confirmed. `undo` plays no part (the router keeps its
        own copy). DeviceError when the archive is not configured (loopbackctl does not
        configure it: it changes only the loopbacks the inventory names) or a timer is
        already pending."""
        pending = session.run(SHOW_REVERT_TIMER)
        if not NO_REVERT_PENDING.search(pending):
            refused = self._refusal(pending)
            if refused is not None:
                raise DeviceError(
                    f"{host.name}: IOS refused {SHOW_REVERT_TIMER!r} ({refused}): this "
                    "release has no Configuration Rollback Confirmed Change; apply with "
                    "--no-confirm"
                )
            raise DeviceError(
                f"{host.name}: a revert timer is already pending on the router (a change "
                f"not confirmed yet, e.g. by a run that died: {_summary(pending)}); the "
                "router puts back its archived configuration when it expires: apply again "
                "after that, or keep what it runs now with `configure confirm` first"
            )
        minutes = revert_minutes(timeout)
        command = REVERT_TIMER.format(minutes=minutes)
        # Leave the configuration mode the timer opens (nothing is configured there).
        out = _exec(session, command, ((CONFIG_PROMPT, "end"),))
        if ARCHIVE_OFF.search(out):
            raise DeviceError(
                f"{host.name}: confirm-or-revert needs IOS's configuration archive, which "
                "is not configured on the router (IOS: Turn config archive on before using "
                "Rollback Confirmed Change); configure `archive` with ` path flash:<name>` "
                "on it (loopbackctl changes only the loopbacks the inventory names), or "
                "apply with --no-confirm"
            )
        if REVERT_ARMED.search(out) is None:
            why = self._refusal(out) or (out.strip().splitlines() or ["no answer"])[-1]
            raise DeviceError(f"{host.name}: IOS did not start {command!r}: {why}")
        return minutes * 60.0

    def confirm(self, session: Session, host: Host) -> None:
        """`configure confirm`, then `show archive config rollback timer` must show no
        timer pending. DeviceError when IOS says none was pending: the timer had expired
        and the router already put back its archived configuration."""
        out = _exec(session, REVERT_CONFIRM, ())
        if NO_REVERT_PENDING.search(out):
            raise DeviceError(
                f"{host.name}: `{REVERT_CONFIRM}` came too late: the revert timer had "
                "expired and the router put back the configuration archived before the "
                "change (raise --confirm-timeout for this fleet)"
            )
        refused = self._refusal(out)
        if refused is not None:
            raise DeviceError(f"{host.name}: IOS refused {REVERT_CONFIRM!r}: {refused}")
        after = session.run(SHOW_REVERT_TIMER)
        if not NO_REVERT_PENDING.search(after):
            raise DeviceError(
                f"{host.name}: after {REVERT_CONFIRM!r} a revert timer is still pending "
                f"({_summary(after)})"
            )

    def _refusal(self, output: str) -> str | None:
        """The first line of `output` that is a refusal (or an IOS `%` error), else None."""
        for line in output.splitlines():
            text = line.strip()
            if NO_REVERT_PENDING.search(text):
                continue
            if self.quirks.refusal(text) or text.startswith("%"):
                return text
        return None

    # -- routing (verify --routing) -----------------------------------------------------

    def routing_facts(self, session: Session, host: Host) -> list[RouterIdFact]:
        """Every running OSPF process's router-id (per VRF: `show ip ospf` names the VRF of
        a process in one) and BGP's (`show ip bgp summary`, the global table), with the
        router-id their `router` blocks configure. `show ip protocols` says what runs in
        the global table; where it and `show ip ospf` disagree the read fails (retry).
        [] when neither OSPF nor BGP runs."""
        protocols = parse.parse_show_ip_protocols(session.run(SHOW_IP_PROTOCOLS))
        every = parse.parse_show_ip_ospf(session.run(SHOW_IP_OSPF))
        ospf = [p for p in every if not p.shutdown]
        listed = {name: rid for name, rid in protocols}
        shown = {f"ospf {p.pid}": p.router_id for p in every if p.vrf is None}
        said = {n: r for n, r in listed.items() if n.startswith("ospf ")}
        running = {f"ospf {p.pid}" for p in ospf if p.vrf is None}
        # Each process the one lists the other shows, with the same router-id (whether
        # IOS lists a shut-down process under show ip protocols is left open).
        if any(shown.get(n) != r for n, r in said.items()) or not running <= set(said):
            raise ParseError(
                f"{SHOW_IP_PROTOCOLS!r} and {SHOW_IP_OSPF!r} differ about the running OSPF"
                " processes or their router-ids (one restarted between them?); retry"
            )
        bgp = [n.split()[1] for n in listed if n.startswith("bgp ")]
        if len(bgp) > 1:
            raise ParseError(f"{SHOW_IP_PROTOCOLS!r} names {len(bgp)} BGP processes")
        if not ospf and not bgp:
            return []
        blocks = parse.parse_router_blocks(session.run(SHOW_RUNNING_ROUTERS))
        facts: list[RouterIdFact] = []
        for p in ospf:
            block = self._block(blocks, "ospf", str(p.pid))
            facts.append(self._fact("ospf", p.vrf or DEFAULT_VRF, p.router_id, block))
        if bgp:
            rid, local_as = parse.parse_bgp_summary(session.run(SHOW_IP_BGP_SUMMARY))
            if local_as != bgp[0]:
                raise ParseError(
                    f"{SHOW_IP_PROTOCOLS!r} names bgp {bgp[0]} but {SHOW_IP_BGP_SUMMARY!r}"
                    f" local AS {local_as}; retry"
                )
            facts.append(self._fact("bgp", DEFAULT_VRF, rid, self._block(blocks, "bgp", bgp[0])))
        return facts

    @staticmethod
    def _block(blocks: Mapping[tuple[str, str], parse.RouterBlock], proto: str, number: str
               ) -> parse.RouterBlock:  # fmt: skip
        found = blocks.get((proto, number))
        if found is None:
            raise ParseError(
                f"{proto} {number} runs but {SHOW_RUNNING_ROUTERS!r} shows no `router {proto}"
                f" {number}` block; retry"
            )
        return found

    @staticmethod
    def _fact(
        proto: str, vrf: str, live: ipaddress.IPv4Address, block: parse.RouterBlock
    ) -> RouterIdFact:
        return RouterIdFact(proto, vrf, live, block.router_id, ROUTER_ID_LINE[proto],
                            block.header, CLEAR.get(proto), RESELECT.get(proto))  # fmt: skip


def revert_minutes(timeout: float) -> int:
    """IOS's revert timer for a confirm window of `timeout` seconds: whole minutes,
    rounded up (never earlier than asked), within IOS's 1..120."""
    low, high = REVERT_MINUTES
    return min(high, max(low, math.ceil(timeout / 60)))


def _exec(session: Session, command: str, answers: Sequence[tuple[re.Pattern[str], str]]) -> str:
    """An EXEC command that changes no configuration (not listed in `session.sent`), its
    output read whole up to the prompt: IOS may print revert-timer notices before it."""
    from loopbackctl.transport.cli import CliSession

    if isinstance(session, CliSession):
        return session.dialogue(command, answers, record=False)
    return session.run(command)


def _summary(text: str) -> str:
    """A `show archive config rollback timer` answer on one line."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()) or "no answer"


class IosXeDriver(IosDriver):
    """The Driver for netmiko's `cisco_xe`: IOS's, over netmiko's IOS-XE class."""

    quirks: CliQuirks = XE_QUIRKS


def _vrf_changes(commands: Sequence[str]) -> set[str]:
    """Interfaces whose `vrf forwarding` line `commands` change."""
    out: set[str] = set()
    current: str | None = None
    for line in commands:
        opened = CONFIG_SYNTAX.block.fullmatch(line)
        if opened is not None:
            current = opened.group("name")
        elif current is not None and CONFIG_SYNTAX.reset is not None:
            text = line.strip().removeprefix(CONFIG_SYNTAX.negation)
            if CONFIG_SYNTAX.reset.match(text):
                out.add(current)
    return out


if TYPE_CHECKING:  # mypy checks that IosDriver keeps the runner's contract
    _driver: Driver = IosDriver()
    _blocks: ShowsBlocks = IosDriver()
    _routing: Routing = IosDriver()
    _xe: Driver = IosXeDriver()
    _confirming: Confirming = IosDriver()

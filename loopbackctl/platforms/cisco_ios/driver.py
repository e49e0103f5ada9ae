"""Cisco IOS at runtime: read loopbacks from show commands, turn Changes into IOS lines,
push them so that every refusal is caught, save with `write memory`.

Imported only for fleets with IOS devices; netmiko, textfsm and ntc-templates are
imported inside the functions that need them, never at import time. IOS quirks: a
primary address is removed without `secondary`, a secondary with it; the others (refusal
strings, prompts, the enable dialogue) are data in `quirks`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING

from loopbackctl.errors import DeviceError
from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.plan import Change
from loopbackctl.platforms.base import Observed, Session
from loopbackctl.platforms.cisco_ios import parse
from loopbackctl.platforms.cisco_ios.parse import (
    SHOW_INTERFACES,
    SHOW_IP_INTERFACE,
    SHOW_IPV6_BRIEF,
    SHOW_RUNNING_INTERFACE,
)
from loopbackctl.platforms.cisco_ios.quirks import QUIRKS, WRITE_MEMORY, WRITE_OK
from loopbackctl.transport.options import ConnectOptions

if TYPE_CHECKING:
    from loopbackctl.platforms.base import Driver


def _mask(addr: ipaddress.IPv4Interface) -> str:
    return f"{addr.ip} {addr.netmask}"


class IosDriver:
    """The Driver for netmiko's `cisco_ios`. Stateless: one instance serves a fleet."""

    def connect(self, host: Host, options: ConnectOptions) -> Session:
        from loopbackctl.transport.cli import open_cli

        return open_cli(host, options, QUIRKS)

    def read(self, session: Session, host: Host) -> Observed:
        """Every loopback on the router, parsed from show commands (see parse)."""
        ip_rows = parse.parse_show_ip_interface(session.run(SHOW_IP_INTERFACE))
        if_rows = parse.parse_show_interfaces(session.run(SHOW_INTERFACES))
        v6 = parse.parse_show_ipv6_brief(session.run(SHOW_IPV6_BRIEF))
        running: dict[str, parse.RunningInterface] = {}
        for name in parse.needs_running_config(ip_rows, v6):
            command = SHOW_RUNNING_INTERFACE.format(name=name)
            for block in parse.parse_running_interface(session.run(command)):
                running[block.name] = block
        found = parse.loopbacks(ip_rows, if_rows, v6, running)
        return Observed(found, parse.router_id(ip_rows))

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

    def commands(self, host: Host, observed: Observed, changes: Sequence[Change]) -> list[str]:
        """IOS configuration lines for `changes`, one `interface X` per run of changes."""
        state = {lb.name: list(lb.ipv4) for lb in observed.loopbacks}
        lines: list[str] = []
        current: str | None = None

        def enter(name: str) -> None:
            nonlocal current
            if current != name:
                lines.append(f"interface {name}")
                current = name

        for c in changes:
            v4 = state.setdefault(c.interface, [])
            if c.kind == "delete":
                lines.append(f"no interface {c.interface}")
                current = None
                state[c.interface] = []
                continue
            enter(c.interface)
            if c.kind == "create":
                continue
            if c.kind == "description":
                lines.append(f" description {c.text}")
            elif c.kind == "no_description":
                lines.append(" no description")
            elif c.kind == "enable":
                lines.append(" no shutdown")
            elif c.kind == "disable":
                lines.append(" shutdown")
            elif c.kind == "set_primary":
                lines += _set_primary(c, v4)
            elif c.kind == "add_address":
                lines.append(_add(c.address, v4))
            elif c.kind == "remove_address":
                lines.append(_remove(c.address, v4))
        return lines

    def push(self, session: Session, host: Host, commands: Sequence[str]) -> None:
        """Send `commands` in one configuration session; DeviceError names the first
        line IOS refused (IOS goes on with the lines after it: the caller restores)."""
        if not commands:
            return
        output = session.configure(commands)
        found = QUIRKS.find_refusal(output, commands)
        if found is not None:
            command, message = found
            what = f"refused {command!r}" if command else "refused the change"
            raise DeviceError(f"{host.name}: IOS {what}: {message}")

    def save(self, session: Session, host: Host) -> None:
        """`write memory`; DeviceError unless IOS confirms with [OK]."""
        output = session.run(WRITE_MEMORY)
        if WRITE_OK not in output:
            last = output.strip().splitlines()[-1] if output.strip() else "no answer"
            raise DeviceError(
                f"{host.name}: {WRITE_MEMORY} did not confirm ({last}); the change is live "
                "but not saved: run `write memory` on the router"
            )


def _set_primary(c: Change, v4: list[ipaddress.IPv4Interface]) -> list[str]:
    # IOS replaces the primary in place: the planner has already removed the new primary
    # where it was a secondary, and re-adds the old one where it stays as a secondary.
    assert isinstance(c.address, ipaddress.IPv4Interface)
    if v4:
        v4.pop(0)
    v4.insert(0, c.address)
    return [f" ip address {_mask(c.address)}"]


def _add(addr: IPInterface | None, v4: list[ipaddress.IPv4Interface]) -> str:
    if isinstance(addr, ipaddress.IPv6Interface):
        return f" ipv6 address {addr.with_prefixlen}"
    assert isinstance(addr, ipaddress.IPv4Interface)
    if not v4:
        v4.append(addr)
        return f" ip address {_mask(addr)}"
    v4.append(addr)
    return f" ip address {_mask(addr)} secondary"


def _remove(addr: IPInterface | None, v4: list[ipaddress.IPv4Interface]) -> str:
    if isinstance(addr, ipaddress.IPv6Interface):
        return f" no ipv6 address {addr.with_prefixlen}"
    assert isinstance(addr, ipaddress.IPv4Interface)
    primary = bool(v4) and v4[0] == addr
    if addr in v4:
        v4.remove(addr)
    return f" no ip address {_mask(addr)}" + ("" if primary else " secondary")


if TYPE_CHECKING:  # mypy checks that IosDriver keeps the runner's contract
    _driver: Driver = IosDriver()

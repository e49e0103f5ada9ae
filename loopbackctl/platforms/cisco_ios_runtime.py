"""Cisco IOS at runtime: read loopbacks from show commands, turn Changes into IOS lines,
push them so that every refusal is caught, save with `write memory`.

Imported by the runner only for fleets with IOS devices; netmiko, textfsm and
ntc-templates are imported inside the functions that need them, never at import time.

IOS quirks this module knows (each a named constant below): refusals without a leading
`%`; netmiko's error_pattern to stop at the first refused line (IOS itself goes on);
`write memory` confirms with `[OK]`; `enable` asks again after a wrong secret; a
primary address is removed without `secondary`, a secondary with it.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopbackctl.driver import ConnectOptions, Session
from loopbackctl.errors import DeviceError
from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.plan import Change, Policy
from loopbackctl.platforms import ios_parse
from loopbackctl.platforms.ios_parse import (
    SHOW_INTERFACES,
    SHOW_IP_INTERFACE,
    SHOW_IPV6_BRIEF,
    SHOW_RUNNING_INTERFACE,
)

if TYPE_CHECKING:
    from loopbackctl.driver import Driver, Purging, Routing

# A loopback named in the inventory is owned whole: addresses it does not name are
# removed. IOS has one primary IPv4 address per interface; the others are `secondary`.
POLICY = Policy(owns_interface=True, primary=True)

# Lines IOS answers a refused configuration command with (scrapli keeps the same list
# as `failed_when_contains`). Matched at the start of an output line, so a description
# that merely contains the text is not a refusal (its echo starts with the prompt).
IOS_FAILURE_STRINGS: tuple[str, ...] = (
    "% Invalid input detected",
    "% Incomplete command",
    "% Ambiguous command",
    "% Unknown command",
    # No leading `%`: IOS prints this for 127/8, 0/8 and class D/E host addresses.
    "Not a valid host address",
    # No leading `%`: a network/broadcast address used as host, or /32 off a loopback.
    "Bad mask",
)
# `% 10.0.0.0 overlaps with Loopback1` / `% 2001:DB8::/64 is overlapping with ... on X`.
IOS_FAILURE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^% \S+ overlaps with \S+"),
    re.compile(r"^% \S+ is overlapping with "),
)
# Fail closed on IOS's other configuration errors, which also start with "% " (syslog
# lines such as `%LINK-3-UPDOWN:` have no space after the `%` and are not refusals).
IOS_ERROR_PREFIX = "% "
# An echoed command: `<hostname>(config...)#<command>`.
CONFIG_ECHO = re.compile(r"\(config[^)]*\)#\s*(?P<command>.*?)\s*$")

# netmiko's error_pattern: the same refusals as one regex, so netmiko stops at the first
# refused line (IOS itself would go on with the lines after it).
IOS_ERROR_PATTERN = "|".join(
    [f"^{re.escape(s)}.*$" for s in IOS_FAILURE_STRINGS]
    + [p.pattern + ".*$" for p in IOS_FAILURE_PATTERNS]
    + [f"^{re.escape(IOS_ERROR_PREFIX)}.*$"]
)
# What netmiko's ConfigInvalidException says (netmiko 4.x base_connection.send_config_set).
NETMIKO_REFUSAL = re.compile(
    r"Invalid input detected at command: (?P<command>.*), matched error: (?P<message>.*)$",
    re.S,
)
DEVICE_TYPE = "cisco_ios"

WRITE_MEMORY = "write memory"
# `write memory` ends with this line once NVRAM holds the configuration.
WRITE_OK = "[OK]"


def refusal(line: str) -> bool:
    """Does this output line mean IOS refused the command before it?"""
    text = line.strip()
    return (
        text.startswith(IOS_FAILURE_STRINGS)
        or any(p.match(text) for p in IOS_FAILURE_PATTERNS)
        or text.startswith(IOS_ERROR_PREFIX)
    )


def find_refusal(output: str, commands: Sequence[str]) -> tuple[str | None, str] | None:
    """(refused command, IOS message) for the first refusal in `output`, else None.

    The command is the last one echoed before the message (None if none was echoed).
    """
    pending = [c.strip() for c in commands]
    last: str | None = None
    for line in output.splitlines():
        echo = CONFIG_ECHO.search(line)
        if echo is not None:
            typed = echo.group("command")
            if typed in pending:
                # IOS runs commands in order: everything before the echoed one is done.
                del pending[: pending.index(typed) + 1]
                last = typed
            continue
        if refusal(line):
            return last, line.strip()
    return None


def _mask(addr: ipaddress.IPv4Interface) -> str:
    return f"{addr.ip} {addr.netmask}"


class IosSession:
    """A Session on a netmiko `cisco_ios` connection in enable mode.

    `run` waits for the exact enable prompt at the end of the output (found once at
    connect), so neither a prompt lookup per command nor a hostname inside a description
    can end a read early. `configure` stops at the first refused line, leaves
    configuration mode, and raises DeviceError naming that line. `sent` lists every line
    that may have changed the device (configuration lines as far as IOS got, and EXEC
    commands other than `show`), for the report.
    """

    def __init__(self, conn: Any, creds: Any, options: ConnectOptions, prompt: str) -> None:
        self.conn, self.creds, self.options = conn, creds, options
        self.prompt = prompt
        self._expect = rf"(?:^|\n){re.escape(prompt)}\s*$"
        self.sent: list[str] = []

    @property
    def where(self) -> str:
        return str(self.creds.where)

    def _lost(self, exc: Exception, command: str) -> DeviceError:
        from loopbackctl.transport.ssh import run_error

        self.drop()
        return run_error(exc, self.creds, command, self.options.command_timeout)

    def run(self, command: str) -> str:
        if not command.startswith("show "):
            self.sent.append(command)
        try:
            out = self.conn.send_command(
                command,
                expect_string=self._expect,
                read_timeout=self.options.command_timeout,
            )
        except Exception as exc:
            raise self._lost(exc, command) from None
        return str(out)

    def configure(self, commands: Sequence[str]) -> str:
        from netmiko.exceptions import ConfigInvalidException

        try:
            out = self.conn.send_config_set(
                list(commands),
                read_timeout=self.options.command_timeout,
                error_pattern=IOS_ERROR_PATTERN,
            )
        except ConfigInvalidException as exc:
            m = NETMIKO_REFUSAL.search(str(exc))
            command, message = (m["command"].strip(), m["message"].strip()) if m else (None, "")
            stripped = [c.strip() for c in commands]
            upto = stripped.index(command) + 1 if command in stripped else len(commands)
            self.sent += commands[:upto]
            try:
                self.conn.exit_config_mode()
            except Exception as exc2:
                raise self._lost(exc2, "end") from None
            what = f"refused {command!r}" if command else "refused a command"
            raise DeviceError(f"{self.where}: IOS {what}: {message or exc}") from None
        except Exception as exc:
            self.sent += commands
            raise self._lost(exc, "configure terminal") from None
        self.sent += commands
        return str(out)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.disconnect()

    def drop(self) -> None:
        """Close without a goodbye: for a session that is lost, hung or mid-dialogue
        (netmiko's own cleanup would wait out its timeouts there)."""
        with contextlib.suppress(Exception):
            self.conn.paramiko_cleanup()
        self.conn.remote_conn = self.conn.remote_conn_pre = None


@dataclass(frozen=True)
class Facts:
    """What the last read of one router found."""

    loopbacks: tuple[Loopback, ...]
    router_id: ipaddress.IPv4Address | None


class IosDriver:
    """The Driver for netmiko's `cisco_ios`. Thread-safe: one instance serves a fleet.

    `read` remembers each host's last observed state, which `commands` needs: IOS removes
    a primary address with `no ip address A M` and a secondary with `... secondary`.
    """

    policy: Policy = POLICY

    def __init__(self) -> None:
        self._facts: dict[str, Facts] = {}
        self._lock = threading.Lock()

    def connect(self, host: Host, options: ConnectOptions) -> IosSession:
        """Log in and enter enable mode with the secret (connection_options.netmiko.extras
        .secret, $LOOPBACKCTL_SECRET, else the password)."""
        from loopbackctl.transport.ssh import open_connection

        conn, creds = open_connection(host, options, DEVICE_TYPE, _netmiko_class())
        session = IosSession(conn, creds, options, "")
        try:
            prompt = _enable(conn, creds.secret or "", options.command_timeout)
        except Exception as exc:
            raise session._lost(exc, "enable") from None
        if prompt is None:
            session.drop()
            raise DeviceError(
                f"{creds.where}: enable mode refused the secret; set the enable secret in"
                " connection_options.netmiko.extras.secret or $LOOPBACKCTL_SECRET"
            )
        return IosSession(conn, creds, options, prompt)

    # -- reading ---------------------------------------------------------------------
    def read(self, session: Session, host: Host) -> tuple[Loopback, ...]:
        """Every loopback on the router, parsed from show commands (see ios_parse)."""
        ip_rows = ios_parse.parse_show_ip_interface(session.run(SHOW_IP_INTERFACE))
        if_rows = ios_parse.parse_show_interfaces(session.run(SHOW_INTERFACES))
        v6 = ios_parse.parse_show_ipv6_brief(session.run(SHOW_IPV6_BRIEF))
        running: dict[str, ios_parse.RunningInterface] = {}
        for name in ios_parse.needs_running_config(ip_rows, v6):
            command = SHOW_RUNNING_INTERFACE.format(name=name)
            for block in ios_parse.parse_running_interface(session.run(command)):
                running[block.name] = block
        found = ios_parse.loopbacks(ip_rows, if_rows, v6, running)
        with self._lock:
            self._facts[host.name] = Facts(found, ios_parse.router_id(ip_rows))
        return found

    def facts(self, host: Host) -> Facts | None:
        """The last read of `host`, if any."""
        with self._lock:
            return self._facts.get(host.name)

    def router_id(self, host: Host) -> str | None:
        """The router-id OSPF/BGP would pick on `host` now (from the last read)."""
        facts = self.facts(host)
        return str(facts.router_id) if facts and facts.router_id else None

    def wanted(
        self, host: Host, observed: Sequence[Loopback], *, purge: bool = False
    ) -> tuple[Loopback, ...]:
        """The inventory's loopbacks; under purge, plus `absent` for every other loopback
        on the router (never a non-loopback interface)."""
        named = {lb.name for lb in host.loopbacks}
        extra = tuple(
            Loopback(lb.name, state="absent")
            for lb in observed
            if purge and lb.name not in named and ios_parse.is_loopback(lb.name)
        )
        return tuple(host.loopbacks) + extra

    # -- changing --------------------------------------------------------------------
    def commands(self, host: Host, changes: Sequence[Change]) -> list[str]:
        """IOS configuration lines for `changes`, one `interface X` per run of changes."""
        facts = self.facts(host)
        observed = {lb.name: lb for lb in facts.loopbacks} if facts else {}
        state = {name: list(lb.ipv4) for name, lb in observed.items()}
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
        found = find_refusal(output, commands)
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


# What `enable` answers: a request for the secret, or the prompt (`>` still user EXEC,
# `#` privileged). IOS asks again after a wrong secret (3 times, then `% Bad secrets`).
ENABLE_ANSWER = r"(?:[Pp]assword:\s*|[>#]\s*|% Bad secrets\s*)$"


def _enable(conn: Any, secret: str, timeout: float) -> str | None:
    """Enter enable mode; the exact `#` prompt, or None when the secret is refused.

    One round trip when no secret is asked (already privileged), two otherwise; a wrong
    secret is known at IOS's second `Password:` instead of after netmiko's timeouts.
    """
    conn.write_channel(conn.normalize_cmd("enable"))
    out = str(conn.read_until_pattern(pattern=ENABLE_ANSWER, read_timeout=timeout))
    if "assword" in out.splitlines()[-1]:
        conn.write_channel(conn.normalize_cmd(secret))
        out = str(conn.read_until_pattern(pattern=ENABLE_ANSWER, read_timeout=timeout))
    last = out.strip().splitlines()[-1].strip() if out.strip() else ""
    return last if last.endswith("#") else None


# Any IOS prompt at the end of what was read: `host>` (user EXEC) or `host#`.
PROMPT_END = r"[>#]\s*$"
# Sent at login, as netmiko's cisco_ios does: no `--More--` paging, no wrapped echoes.
TERMINAL_SETUP = ("terminal width 511", "terminal length 0")
# IOS shortens the hostname in configuration-mode prompts; netmiko matches on this many
# characters of it (netmiko.cisco.cisco_ios.CiscoIosBase.set_base_prompt).
BASE_PROMPT_CHARS = 16


@functools.cache
def _netmiko_class() -> type[Any]:
    """netmiko's cisco_ios class with a lean login and quick failure detection.

    - Session preparation reads the prompt IOS prints at login once, instead of netmiko's
      fixed 0.1 s sleep plus prompt probing (about 0.17 s of a 0.25 s login here).
    - A connection the device dropped fails at once (a closed paramiko channel reads as
      no data, so netmiko would wait out read_timeout).
    """
    from netmiko.cisco.cisco_ios import CiscoIosSSH

    class IosSSH(CiscoIosSSH):
        def _try_session_preparation(self, force_data: bool = True) -> None:
            try:
                self.session_preparation()
            except Exception:
                self.disconnect()
                raise

        def session_preparation(self) -> None:
            self.write_channel(self.RETURN)
            out = str(self.read_until_pattern(pattern=PROMPT_END, read_timeout=self.timeout))
            for command in TERMINAL_SETUP:
                self.write_channel(self.normalize_cmd(command))
                self.read_until_pattern(pattern=re.escape(command), read_timeout=self.timeout)
                out = str(self.read_until_pattern(pattern=PROMPT_END, read_timeout=self.timeout))
            prompt = out.strip().splitlines()[-1].strip()
            self.base_prompt = prompt[:-1][:BASE_PROMPT_CHARS]
            self.clear_buffer()

        def cleanup(self, command: str = "exit") -> None:
            # IosSession leaves configuration mode itself: skip netmiko's extra probe.
            self.write_channel(command + self.RETURN)

        def read_channel(self) -> str:
            out = str(super().read_channel())
            chan = getattr(self, "remote_conn", None)
            if not out and chan is not None and getattr(chan, "closed", False):
                raise EOFError("the device closed the SSH channel")
            return out

    return IosSSH


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
    _routing: Routing = IosDriver()
    _purging: Purging = IosDriver()

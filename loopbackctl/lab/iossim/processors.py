"""IOS command modes as subclasses of fake-switches' Cisco command processors.

Each command is a ``do_<word>`` method (``no x`` is ``do_no_x``); words may be abbreviated
as on IOS, an ambiguous abbreviation prints ``% Ambiguous command:  "<line>"``. Refusals
print exactly what IOS prints, with the caret placed under the offending word (the column
counts the prompt, as on a real terminal).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fake_switches.cisco.command_processor.config import ConfigCommandProcessor
from fake_switches.cisco.command_processor.config_interface import (
    ConfigInterfaceCommandProcessor,
)
from fake_switches.cisco.command_processor.config_vlan import ConfigVlanCommandProcessor
from fake_switches.cisco.command_processor.config_vrf import ConfigVRFCommandProcessor
from fake_switches.cisco.command_processor.default import DefaultCommandProcessor
from fake_switches.cisco.command_processor.enabled import (
    EnabledCommandProcessor,
    version_text,
)
from fake_switches.cisco.command_processor.piping import PipingProcessor
from fake_switches.command_processing.base_command_processor import BaseCommandProcessor
from netaddr import AddrFormatError, IPNetwork  # type: ignore[import-untyped,unused-ignore]

from . import archive, render
from . import routing as rt
from .model import (
    LOOPBACK,
    MUST_DELETE_SECONDARY,
    SOURCE_MANUAL,
    VRF_MISSING,
    VRF_REMOVED,
    LoopbackPort,
    RouterPort,
    check_ipv4,
    check_ipv6,
    find_port,
    mask_prefix,
    parse_dotted_quad,
    parse_interface,
    router_ports,
)

if TYPE_CHECKING:
    from .core import IosRouterCore

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."
BAD_SECRETS = "% Bad secrets"


def tokens_of(line: str) -> list[tuple[int, str]]:
    """(column, word) of each word of the part of ``line`` before any `` | ``."""
    head = line.split(" | ", 1)[0]
    return [(m.start(), m.group(0)) for m in re.finditer(r"\S+", head)]


def pick(word: str, options: Sequence[str]) -> tuple[str | None, bool]:
    """Resolve an IOS keyword abbreviation: (option, ambiguous)."""
    low = word.lower()
    found = [o for o in options if o.lower().startswith(low)]
    if low in (o.lower() for o in found):
        return next(o for o in found if o.lower() == low), False
    if len(found) == 1:
        return found[0], False
    return None, len(found) > 1


class IosCommandMixin:
    """IOS parsing rules shared by every mode: abbreviations, caret and refusals."""

    core: IosRouterCore
    _nargs = 0

    # Provided by fake-switches' BaseCommandProcessor.
    write_line: Callable[[str], None]
    write: Callable[[str], None]

    def get_command_func(self, line: str) -> tuple[Callable[..., Any] | None, list[str]]:
        """Map a line to (handler, args); the handler for ``no`` alone is an incomplete."""
        words = line.strip().split()
        if not words or words[0].startswith("!"):
            return (lambda *_: None), []
        command, args = words[0].lower(), words[1:]
        if command == "no":
            if not args:
                return self._incomplete, []
            command, args = "no_" + args[0].lower(), args[1:]
        command = command.replace("-", "_")
        names = [n for n in dir(self) if n.startswith("do_" + command)]
        if "do_" + command in names:
            names = ["do_" + command]
        if len(names) > 1:
            return self._ambiguous, []
        if not names:
            return None, []
        self._nargs = len(args)
        return getattr(self, names[0]), args

    def _incomplete(self, *_: str) -> None:
        self.incomplete()

    def _ambiguous(self, *_: str) -> None:
        self.core.refused = True
        self.write_line(f'% Ambiguous command:  "{self.core.line_text.strip()}"')

    def incomplete(self) -> None:
        """Print IOS's ``% Incomplete command.`` and the blank line after it."""
        self.core.refused = True
        self.write_line(INCOMPLETE)
        self.write_line("")

    def invalid(self, arg_index: int) -> None:
        """Print the caret line and ``% Invalid input ...`` for argument ``arg_index``."""
        self.core.refused = True
        words = tokens_of(self.core.line_text)
        index = len(words) - self._nargs + arg_index
        column = words[index][0] if 0 <= index < len(words) else len(self.core.line_text)
        self.write_line(" " * (len(self.core.line_prompt) + column) + "^")
        self.write_line(INVALID)
        self.write_line("")

    def refuse(self, message: str) -> None:
        """Print a one-line IOS refusal (e.g. ``% 10.0.0.0 overlaps with Loopback1``)."""
        self.core.refused = True
        self.write_line(message)

    def keyword(self, arg_index: int, word: str, options: Sequence[str]) -> str | None:
        """Resolve a keyword argument or print the IOS refusal and return None."""
        found, ambiguous = pick(word, options)
        if found is None:
            if ambiguous:
                self._ambiguous()
            else:
                self.invalid(arg_index)
        return found

    def interface_arg(self, args: Sequence[str], start: int, must_exist: bool) -> str | None:
        """Parse an interface name from ``args[start:]`` (nothing may follow it)."""
        ref = parse_interface(self.core.switch_configuration, list(args[start:]))
        if ref.error == "incomplete":
            self.incomplete()
            return None
        if ref.error == "ambiguous":
            self._ambiguous()
            return None
        if ref.error is not None:
            self.invalid(start + ref.bad_token)
            return None
        if len(args) > start + ref.used:
            self.invalid(start + ref.used)
            return None
        if must_exist and find_port(self.core.switch_configuration, ref.name) is None:
            self.invalid(start)
            return None
        return ref.name

    def write_lines(self, lines: Sequence[str]) -> None:
        """Write output line by line (so ``| include`` and friends can filter)."""
        for line in lines:
            self.write_line(line)


SHOW_TOPICS = (
    "archive",
    "bgp",
    "interfaces",
    "ip",
    "ipv6",
    "running-config",
    "startup-config",
    "version",
)
USER_SHOW_TOPICS = ("interfaces", "ip", "ipv6", "version")
IP_TOPICS = ("bgp", "interface", "ospf", "protocols")


class ShowMixin(IosCommandMixin):
    """``show`` commands; user EXEC mode gets the subset IOS allows there."""

    show_topics: Sequence[str] = SHOW_TOPICS

    def show_command(self, *args: str) -> None:
        """show interfaces|ip interface|ipv6 interface brief|running-config|... ."""
        if not args:
            self.write_line('% Type "show ?" for a list of subcommands')
            self.write_line("")
            return
        topic = self.keyword(0, args[0], self.show_topics)
        show = {
            "interfaces": self._show_interfaces,
            "bgp": lambda a: self._show_bgp_summary(a, 1),
            "ip": self._show_ip,
            "ipv6": self._show_ipv6,
            "running-config": self._show_running,
            "startup-config": self._show_startup,
            "archive": self._show_archive,
            "version": self._show_version,
        }.get(topic or "")
        if show is not None:
            show(args)

    def _show_interfaces(self, args: Sequence[str]) -> None:
        ports = self._ports_arg(args, 1)
        if ports is not None:
            conf = self.core.switch_configuration
            self.write_lines(render.show_interfaces(self.core.hostname, conf, ports))

    def _show_ip(self, args: Sequence[str]) -> None:
        """show ip interface [brief] / ospf / protocols / bgp summary."""
        if len(args) < 2:
            self.incomplete()
            return
        what = self.keyword(1, args[1], IP_TOPICS)
        if what in ("ospf", "protocols"):
            self._show_routing(what, args)
        elif what == "bgp":
            self._show_bgp_summary(args, 2)
        elif what == "interface":
            if len(args) > 2 and len(args[2]) > 1 and "brief".startswith(args[2].lower()):
                ports = self._ports_arg(args, 3)
                if ports is not None:
                    lines = render.show_ip_interface_brief(self.core.switch_configuration)
                    names = {p.name for p in ports}
                    rows = [row for row in lines[1:] if row.split()[0] in names]
                    self.write_lines([lines[0], *rows])
            else:
                ports = self._ports_arg(args, 2)
                if ports is not None:
                    self.write_lines(render.show_ip_interface(ports))

    def _show_ipv6(self, args: Sequence[str]) -> None:
        """show ipv6 interface brief (refused on a router without IPv6)."""
        if not self.core.ipv6:
            self.invalid(0)
        elif len(args) < 3:
            self.incomplete()
        elif self.keyword(1, args[1], ("interface",)) and self.keyword(2, args[2], ("brief",)):
            ports = self._ports_arg(args, 3)
            if ports is not None:
                conf = self.core.switch_configuration
                self.write_lines(render.show_ipv6_interface_brief(self.core.hostname, conf, ports))

    def _show_running(self, args: Sequence[str]) -> None:
        """show running-config [interface NAME]."""
        if len(args) == 1:
            self.write_lines(render.show_running_config(self.core.running_body()))
        elif self.keyword(1, args[1], ("interface",)):
            name = self.interface_arg(args, 2, must_exist=True)
            port = find_port(self.core.switch_configuration, name) if name else None
            if port is not None:
                self.write_lines(render.show_running_config_interface(port))

    def _show_startup(self, args: Sequence[str]) -> None:
        if len(args) > 1:
            self.invalid(1)
        else:
            self.write_lines(render.show_startup_config(self.core.startup_body))

    def _show_version(self, args: Sequence[str]) -> None:
        ports = router_ports(self.core.switch_configuration)
        text = version_text(hostname=self.core.hostname, vlan_port_count=0, port_count=len(ports))
        self.write_line(text)

    def _show_archive(self, args: Sequence[str]) -> None:
        """show archive; show archive config rollback timer."""
        if len(args) == 1:
            self.write_lines(self.core.archive.show())
            return
        words = ("config", "rollback", "timer")
        for i, word in enumerate(words, start=1):
            if len(args) <= i:
                self.incomplete()
                return
            if self.keyword(i, args[i], (word,)) is None:
                return
        if len(args) > len(words) + 1:
            self.invalid(len(words) + 1)
            return
        self.write_lines(self.core.revert.show())

    def _show_routing(self, what: str, args: Sequence[str]) -> None:
        """show ip ospf / show ip protocols (nothing may follow them here)."""
        if len(args) > 2:
            self.invalid(2)
            return
        core = self.core
        conf = core.switch_configuration
        if what == "ospf":
            self.write_lines(rt.show_ip_ospf(conf, core.routing, core.booted))
        else:
            self.write_lines(rt.show_ip_protocols(conf, core.routing))

    def _show_bgp_summary(self, args: Sequence[str], at: int) -> None:
        """show [ip] bgp summary."""
        if len(args) <= at:
            self.incomplete()
        elif self.keyword(at, args[at], ("summary",)):
            if len(args) > at + 1:
                self.invalid(at + 1)
            else:
                self.write_lines(rt.show_ip_bgp_summary(self.core.switch_configuration,
                                                        self.core.routing))  # fmt: skip

    def _ports_arg(self, args: Sequence[str], start: int) -> list[RouterPort] | None:
        """All interfaces when ``args`` ends at ``start``, else the one named there."""
        conf = self.core.switch_configuration
        if len(args) <= start:
            return router_ports(conf)
        name = self.interface_arg(args, start, must_exist=True)
        port = find_port(conf, name) if name else None
        return [port] if port is not None else None


class IosUserExecProcessor(ShowMixin, DefaultCommandProcessor):  # type: ignore[misc]
    """``Router>``: ``enable`` asks for the secret (3 tries, then ``% Bad secrets``)."""

    show_topics = USER_SHOW_TOPICS
    replace_input: str | bool
    sub_processor: Any

    def __init__(self, core: IosRouterCore, enabled: IosEnabledProcessor) -> None:
        super().__init__(enabled)
        self.core = core
        self.tries = 0

    def do_show(self, *args: str) -> None:
        """The show commands user EXEC mode allows."""
        self.show_command(*args)

    def do_enable(self, *args: str) -> None:
        """Ask for the enable secret."""
        if args:
            self.invalid(0)
            return
        self.tries = 0
        self._ask_secret()

    def _ask_secret(self) -> None:
        self.write("Password: ")
        self.replace_input = ""
        self.continue_to(self.continue_enabling)

    def continue_enabling(self, line: str) -> None:
        """Compare the typed secret with the configured one (text, exact)."""
        self.replace_input = False
        if line == self.core.secret:
            self.move_to(self.enabled_processor)
            return
        self.tries += 1
        if self.tries < 3:
            self._ask_secret()
        else:
            self.write_line(BAD_SECRETS)
            self.write_line("")

    def do_terminal(self, *args: str) -> None:
        """terminal length N / width N / monitor."""
        terminal_command(self, args)

    def do_exit(self, *args: str) -> None:
        """Log out."""
        if args:
            self.invalid(0)
        else:
            self.is_done = True

    do_logout = do_exit

    def delegate_to_sub_processor(self, line: str) -> bool:
        """Like fake-switches, but ``disable`` returns here instead of logging out."""
        sub = self.sub_processor
        processed: bool = sub.process_command(line)
        if sub.is_done:
            if getattr(sub, "disabled", False):
                self.sub_processor = None
                self.show_prompt()
            else:
                self.is_done = True
        return processed


def terminal_command(proc: IosCommandMixin, args: Sequence[str]) -> None:
    """Validate ``terminal length|width N`` and ``terminal [no] monitor`` (no output)."""
    if not args:
        proc.incomplete()
        return
    what = proc.keyword(0, args[0], ("length", "width", "monitor", "no"))
    if what in ("length", "width"):
        if len(args) < 2:
            proc.incomplete()
        elif not args[1].isdigit() or int(args[1]) > 512:
            proc.invalid(1)
        elif len(args) > 2:
            proc.invalid(2)
    elif what == "monitor" and len(args) > 1:
        proc.invalid(1)
    elif what == "no":
        if len(args) < 2:
            proc.incomplete()
        else:
            proc.keyword(1, args[1], ("monitor",))


class IosEnabledProcessor(ShowMixin, EnabledCommandProcessor):  # type: ignore[misc]
    """``Router#``: configure, show, write memory, copy running-config startup-config."""

    def __init__(self, core: IosRouterCore, config: IosConfigProcessor) -> None:
        super().__init__(config)
        self.core = core
        self.disabled = False

    def init(self, *args: Any) -> None:
        """Reset per-entry state (fake-switches re-inits a processor on each entry)."""
        super().init(*args)
        self.disabled = False

    def do_show(self, *args: str) -> None:
        """show ..."""
        self.show_command(*args)

    def do_configure(self, *args: str) -> None:
        """configure terminal [revert timer {M | idle M}]; configure confirm; configure
        revert {now | timer {M | idle M}} (see .archive)."""
        if not args:
            self.write("Configuring from terminal, memory, or network [terminal]? ")
            self.continue_to(self.continue_configure)
            return
        what = self.keyword(0, args[0], ("terminal", "confirm", "revert"))
        revert = self.core.revert
        if what == "terminal":
            if len(args) == 1:
                self._enter_config()
            elif self.keyword(1, args[1], ("revert",)) is None:
                return
            elif len(args) < 3:
                self.incomplete()
            elif self.keyword(2, args[2], ("timer",)):
                timer = self._timer_args(args, 3)
                if timer is not None:
                    out = revert.start(*timer, session=self.core.current_session)
                    self.write_lines(out)
                    if not out[0].startswith("%"):
                        self._enter_config()
        elif what == "confirm":
            if len(args) > 1:
                self.invalid(1)
            else:
                self.write_lines(revert.confirm())
        elif what == "revert":
            if len(args) < 2:
                self.incomplete()
                return
            how = self.keyword(1, args[1], ("now", "timer"))
            if how == "now":
                if len(args) > 2:
                    self.invalid(2)
                else:
                    self.write_lines(revert.now())
            elif how == "timer":
                timer = self._timer_args(args, 2)
                if timer is not None:
                    self.write_lines(revert.reset(*timer))

    def _timer_args(self, args: Sequence[str], start: int) -> tuple[int, bool] | None:
        """``MINUTES`` or ``idle MINUTES`` at ``args[start:]`` (1..120): (minutes, idle)."""
        idle = len(args) > start and not args[start].isdigit()
        if idle and self.keyword(start, args[start], ("idle",)) is None:
            return None
        at = start + 1 if idle else start
        if len(args) <= at:
            self.incomplete()
            return None
        value = args[at]
        if not value.isdigit() or not archive.MIN_MINUTES <= int(value) <= archive.MAX_MINUTES:
            self.invalid(at)
            return None
        if len(args) > at + 1:
            self.invalid(at + 1)
            return None
        return int(value), idle

    def continue_configure(self, line: str) -> None:
        """Answer to the ``[terminal]?`` question."""
        if not line.strip() or "terminal".startswith(line.strip().lower()):
            self._enter_config()
        else:
            self.write_line('?Must be "terminal", "memory" or "network"')

    def _enter_config(self) -> None:
        self.write_line("Enter configuration commands, one per line.  End with CNTL/Z.")
        self.move_to(self.config_processor)

    def do_copy(self, *args: str) -> None:
        """copy running-config startup-config (asks for the destination name)."""
        if len(args) < 2:
            self.incomplete()
            return
        files = ("running-config", "startup-config")
        source = self.keyword(0, args[0], files)
        if source is None:
            return
        destination = self.keyword(1, args[1], files)
        if destination is None:
            return
        if source != "running-config":
            self.invalid(0)
            return
        if destination != "startup-config":
            self.invalid(1)
            return
        if len(args) > 2:
            self.invalid(2)
            return
        self.write("Destination filename [startup-config]? ")
        self.continue_to(self.continue_copy)

    def continue_copy(self, _line: str) -> None:
        """Any answer (Enter) saves to startup-config, as IOS does for the default."""
        self.write_line("Building configuration...")
        self.core.save()
        self.write_line("[OK]")

    def do_write(self, *args: str) -> None:
        """write [memory] saves; write terminal shows the running configuration."""
        what = self.keyword(0, args[0], ("memory", "terminal")) if args else "memory"
        if what is None:
            return
        if len(args) > 1:
            self.invalid(1)
        elif what == "memory" and self.core.save_prompts:
            self.write("Overwrite the previous NVRAM configuration?[confirm]")
            self.continue_to(self.continue_write)
        elif what == "memory":
            self.write_line("Building configuration...")
            self.core.save()
            self.write_line("[OK]")
        else:
            self.write_lines(render.show_running_config(self.core.running_body()))

    def continue_write(self, line: str) -> None:
        """[confirm]: Enter or y writes, anything else aborts (as IOS)."""
        self.write_line("")
        if line.strip().lower() in ("", "y", "yes"):
            self.write_line("Building configuration...")
            self.core.save()
            self.write_line("[OK]")
        else:
            self.write_line("%Aborted.")

    def do_terminal(self, *args: str) -> None:
        """terminal length N / width N / monitor."""
        terminal_command(self, args)

    def do_clear(self, *args: str) -> None:
        """clear ip ospf process (asks first), clear ip bgp * (at once): the processes
        start again and take their router-id anew."""
        if len(args) < 3:
            self.incomplete()
            return
        if self.keyword(0, args[0], ("ip",)) is None:
            return
        what = self.keyword(1, args[1], ("bgp", "ospf"))
        if what == "bgp":
            if args[2] != "*":
                self.invalid(2)
            elif len(args) > 3:
                self.invalid(3)
            else:
                self.core.routing.restart(self.core.switch_configuration, rt.BGP)
        elif what == "ospf":
            if self.keyword(2, args[2], ("process",)) is None:
                return
            if len(args) > 3:
                self.invalid(3)
                return
            self.write(rt.OSPF_RESET_ALL)
            self.continue_to(self.continue_clear_ospf)

    def continue_clear_ospf(self, line: str) -> None:
        """[no]: yes (or y) resets every OSPF process; anything else, nothing."""
        if line.strip().lower() in ("y", "yes"):
            self.core.routing.restart(self.core.switch_configuration, rt.OSPF)

    def do_disable(self, *args: str) -> None:
        """Back to user EXEC mode."""
        if args:
            self.invalid(0)
            return
        self.disabled = True
        self.is_done = True

    def do_exit(self, *args: str) -> None:
        """Log out."""
        if args:
            self.invalid(0)
        else:
            self.is_done = True

    do_logout = do_exit


class IosConfigProcessor(ShowMixin, ConfigCommandProcessor):  # type: ignore[misc]
    """``Router(config)#``: interface / no interface / end / exit / do show."""

    sub_processor: Any

    def __init__(self, core: IosRouterCore, config_interface: IosInterfaceProcessor) -> None:
        super().__init__(
            config_vlan=ConfigVlanCommandProcessor(),
            config_vrf=ConfigVRFCommandProcessor(),
            config_interface=config_interface,
        )
        self.core = core
        self.moved = False
        self.vrf_definition = IosVrfProcessor(core)
        self.router_processor = IosRouterProcessor(core)
        self.archive_mode = IosArchiveProcessor(core)

    def do_archive(self, *args: str) -> None:
        """archive: its sub-mode (path, maximum)."""
        if args:
            self.invalid(0)
        else:
            self.move_to(self.archive_mode)

    def do_no_archive(self, *args: str) -> None:
        """no archive: the section goes (the archived files stay on flash)."""
        if args:
            self.invalid(0)
        else:
            self.core.archive.path = self.core.archive.maximum = None

    def do_vrf(self, *args: str) -> None:
        """vrf definition NAME: create it (address families added in its sub-mode)."""
        if len(args) < 2:
            self.incomplete()
            return
        if self.keyword(0, args[0], ("definition",)) is None:
            return
        if len(args) > 2:
            self.invalid(2)
            return
        self.core.vrfs.setdefault(args[1], [])
        self.move_to(self.vrf_definition, args[1])

    def do_no_vrf(self, *args: str) -> None:
        """no vrf definition NAME: its interfaces leave it and lose their addresses."""
        if len(args) < 2:
            self.incomplete()
            return
        if self.keyword(0, args[0], ("definition",)) is None:
            return
        if args[1] not in self.core.vrfs:
            self.refuse(VRF_MISSING.format(name=args[1]))
            return
        del self.core.vrfs[args[1]]
        for port in router_ports(self.core.switch_configuration):
            if port.vrf == args[1]:
                port.vrf = None
                port.clear_addresses()

    def do_router(self, *args: str) -> None:
        """router ospf PID [vrf NAME] / router bgp ASN: create the process (it starts at
        once if it can take a router-id) and enter its mode."""
        parsed = self._router_args(args)
        if parsed is None:
            return
        protocol, number, vrf = parsed
        routing = self.core.routing
        process = routing.find(protocol, number)
        running = routing.bgp()
        if process is None and protocol == rt.BGP and running is not None:
            self.refuse(f"% BGP is already running; AS is {running.number}")
            return
        if process is not None and process.vrf != vrf:
            self.refuse(f"% Process {number} is already configured with a different VRF")
            return
        if process is None:
            process = rt.Process(protocol, number, vrf)
            if protocol == rt.BGP:  # IOS 15 adds it to every new BGP process
                process.lines.append("bgp log-neighbor-changes")
            routing.add(self.core.switch_configuration, process)
        self.move_to(self.router_processor, process)

    def do_no_router(self, *args: str) -> None:
        """no router ospf PID / no router bgp ASN."""
        parsed = self._router_args(args)
        if parsed is not None:
            process = self.core.routing.find(parsed[0], parsed[1])
            if process is not None:
                self.core.routing.remove(process)

    def _router_args(self, args: Sequence[str]) -> tuple[str, int, str | None] | None:
        if len(args) < 2:
            self.incomplete()
            return None
        protocol = self.keyword(0, args[0], (rt.BGP, rt.OSPF))
        if protocol is None:
            return None
        if not args[1].isdigit() or not 1 <= int(args[1]) <= (65535 if protocol == rt.OSPF
                                                               else 4294967295):  # fmt: skip
            self.invalid(1)
            return None
        vrf = None
        if len(args) > 2:
            if protocol != rt.OSPF or self.keyword(2, args[2], ("vrf",)) is None:
                if protocol != rt.OSPF:
                    self.invalid(2)
                return None
            if len(args) < 4:
                self.incomplete()
                return None
            if len(args) > 4:
                self.invalid(4)
                return None
            vrf = args[3]
            if vrf not in self.core.vrfs:
                self.refuse(VRF_MISSING.format(name=vrf))
                return None
        return protocol, int(args[1]), vrf

    def move_to(self, new_processor: Any, *args: Any) -> None:
        """Enter a sub-mode (remembered so a re-entered interface mode is not left)."""
        self.moved = True
        super().move_to(new_processor, *args)

    def parse_and_execute_command(self, line: str) -> bool:
        """A global command typed in a sub-mode: IOS runs it and leaves the sub-mode,
        except ``do ...`` and refused commands, which keep the sub-mode."""
        previous = self.sub_processor
        self.moved = False
        self.core.refused = False
        processed: bool = super().parse_and_execute_command(line)
        if not processed or previous is None or self.moved or self.is_done:
            return processed
        if self.sub_processor is previous:
            handler, _ = self.get_command_func(line)
            if self.core.refused or getattr(handler, "__name__", "") == "do_do":
                self.finish_piping()
                previous.show_prompt()
            else:
                self.sub_processor = None
        return processed

    def do_interface(self, *args: str) -> None:
        """Enter an interface; ``LoopbackN`` is created when missing."""
        conf = self.core.switch_configuration
        name = self.interface_arg(args, 0, must_exist=False)
        if name is None:
            return
        port = find_port(conf, name)
        if port is None:
            if not name.startswith(LOOPBACK):
                self.invalid(0)
                return
            port = LoopbackPort(name)
            conf.add_port(port)
        self.move_to(self.config_interface_processor, port)

    def do_no_interface(self, *args: str) -> None:
        """Delete a loopback (silently nothing when absent); physical ports stay."""
        conf = self.core.switch_configuration
        name = self.interface_arg(args, 0, must_exist=False)
        if name is None:
            return
        port = find_port(conf, name)
        if not name.startswith(LOOPBACK):
            self.invalid(0)
        elif port is not None:
            conf.remove_port(port)

    def do_default(self, *args: str) -> None:
        """default interface X: back to an empty configuration."""
        if not args:
            self.incomplete()
            return
        if self.keyword(0, args[0], ("interface",)) is None:
            return
        name = self.interface_arg(args, 1, must_exist=True)
        port = find_port(self.core.switch_configuration, name) if name else None
        if port is not None:
            port.description = None
            port.clear_addresses()
            port.vrf = None
            port.extras = {}
            port.shutdown = not port.is_loopback

    def do_end(self, *args: str) -> None:
        """Leave configuration mode."""
        if args:
            self.invalid(0)
        else:
            self.is_done = True

    def do_exit(self, *args: str) -> None:
        """Leave configuration mode (from an interface: back to config)."""
        if args:
            self.invalid(0)
        else:
            self.is_done = True

    def do_do(self, *args: str) -> None:
        """do show ... from configuration mode."""
        if not args:
            self.incomplete()
            return
        if len(args[0]) < 2 or not "show".startswith(args[0].lower()):
            self.invalid(0)
            return
        self._nargs = len(args) - 1
        self.show_command(*args[1:])


class IosInterfaceProcessor(IosCommandMixin, ConfigInterfaceCommandProcessor):  # type: ignore[misc]
    """``Router(config-if)#``: description, ip/ipv6 address, shutdown, exit."""

    port: RouterPort

    def __init__(self, core: IosRouterCore) -> None:
        super().__init__()
        self.core = core

    def do_description(self, *args: str) -> None:
        """The rest of the line, verbatim."""
        if not args:
            self.incomplete()
            return
        match = re.match(r"\s*\S+\s+(.*)$", self.core.line_text)
        self.port.description = match.group(1).rstrip() if match else " ".join(args)

    def do_no_description(self, *_: str) -> None:
        """Remove the description."""
        self.port.description = None

    def do_shutdown(self, *args: str) -> None:
        """Administratively down."""
        if args:
            self.invalid(0)
        else:
            self.port.shutdown = True

    def do_no_shutdown(self, *args: str) -> None:
        """Administratively up."""
        if args:
            self.invalid(0)
        else:
            self.port.shutdown = False

    def do_exit(self, *args: str) -> None:
        """Back to configuration mode."""
        if args:
            self.invalid(0)
        else:
            self.is_done = True

    def get_command_func(self, line: str) -> tuple[Callable[..., Any] | None, list[str]]:
        """``vrf definition X`` typed here is the global command (IOS tries the parent
        mode for what this one does not know)."""
        words = line.split()
        if words[:1] == ["vrf"] and len(words) > 1 and words[1] == "definition":
            return None, []
        return super().get_command_func(line)

    def do_vrf(self, *args: str) -> None:
        """vrf forwarding NAME: a change removes the addresses, and IOS says so."""
        if len(args) < 2:
            self.incomplete()
            return
        if self.keyword(0, args[0], ("forwarding",)) is None:
            return
        if len(args) > 2:
            self.invalid(2)
        elif args[1] not in self.core.vrfs:
            self.refuse(VRF_MISSING.format(name=args[1]))
        elif self.port.vrf != args[1]:
            self._leave_vrf("enabling", args[1])
            self.port.vrf = args[1]

    def do_no_vrf(self, *args: str) -> None:
        """no vrf forwarding [NAME]: back to the global table, addresses removed."""
        if not args:
            self.incomplete()
            return
        if self.keyword(0, args[0], ("forwarding",)) is None:
            return
        if len(args) > 2:
            self.invalid(2)
        elif len(args) == 2 and args[1] != self.port.vrf:
            self.refuse(VRF_MISSING.format(name=args[1]))
        elif self.port.vrf is not None:
            self._leave_vrf("disabling", self.port.vrf)
            self.port.vrf = None

    def _leave_vrf(self, how: str, vrf: str) -> None:
        port = self.port
        for family, had in (("IPv4", port.ips), ("IPv6", port.ipv6)):
            if had:
                self.write_line(VRF_REMOVED.format(port=port.name, family=family, how=how, vrf=vrf))
        port.clear_addresses()

    def do_ip(self, *args: str) -> None:
        """ip address A MASK [secondary]; ip ospf PID area AREA; ip pim MODE."""
        if not args:
            self.incomplete()
            return
        what = self.keyword(0, args[0], ("address", "ospf", "pim"))
        if what is None:
            return
        if what != "address":
            self._extra(what, args)
            return
        parsed = self._address_args(args)
        if parsed is None:
            return
        address, mask, secondary = parsed
        port = self.port
        prefix = mask_prefix(mask)
        same = port.ips[1:] if secondary else port.ips[:1]
        if prefix is not None and any(ip.ip == address and ip.prefixlen == prefix for ip in same):
            return
        refusal = check_ipv4(self.core.switch_configuration, port, address, mask, secondary)
        if refusal:
            self.refuse(refusal)
            return
        new = IPNetwork(f"{address}/{prefix}")
        if secondary:
            port.ips = [*port.ips, new]
        elif port.ips:
            port.ips = [new, *port.ips[1:]]
        else:
            port.ips = [new]
        port.address_source = SOURCE_MANUAL

    def _extra(self, what: str, args: Sequence[str]) -> None:
        """ip ospf PID area AREA / ip pim sparse-mode|dense-mode|sparse-dense-mode."""
        if what == "ospf":
            ok = len(args) == 4 and args[1].isdigit() and args[2] == "area" and bool(args[3])
        else:
            ok = len(args) == 2 and args[1] in PIM_MODES
        if len(args) < (4 if what == "ospf" else 2):
            self.incomplete()
        elif not ok:
            self.invalid(1)
        else:
            self.port.extras[f"ip {what}"] = " ".join(["ip", what, *args[1:]])

    def do_no_ip(self, *args: str) -> None:
        """no ip address [A MASK [secondary]]; no ip ospf ...; no ip pim ...."""
        if not args:
            self.incomplete()
            return
        what = self.keyword(0, args[0], ("address", "ospf", "pim"))
        if what is None:
            return
        if what != "address":
            self.port.extras.pop(f"ip {what}", None)
            return
        port = self.port
        if len(args) == 1:
            port.ips = []
            port.address_source = SOURCE_MANUAL
            return
        parsed = self._address_args(args)
        if parsed is None:
            return
        address, _mask, secondary = parsed
        if secondary:
            port.ips = port.ips[:1] + [ip for ip in port.ips[1:] if ip.ip != address]
        elif port.primary is not None and port.primary.ip == address:
            if port.secondaries:
                self.refuse(MUST_DELETE_SECONDARY)
                return
            port.ips = []
        port.address_source = SOURCE_MANUAL

    def _address_args(self, args: Sequence[str]) -> tuple[Any, Any, bool] | None:
        """Parse ``address A MASK [secondary]`` (args[0] is ``address``)."""
        if len(args) < 2:
            self.incomplete()
            return None
        address = parse_dotted_quad(args[1])
        if address is None:
            self.invalid(1)
            return None
        if len(args) < 3:
            self.incomplete()
            return None
        mask = parse_dotted_quad(args[2])
        if mask is None:
            self.invalid(2)
            return None
        secondary = False
        if len(args) > 3:
            if self.keyword(3, args[3], ("secondary",)) is None:
                return None
            secondary = True
        if len(args) > 4:
            self.invalid(4)
            return None
        return address, mask, secondary

    def do_ipv6(self, *args: str) -> None:
        """ipv6 address X/LEN."""
        if not self.core.ipv6:
            self.invalid(0)
            return
        if not args:
            self.incomplete()
            return
        if self.keyword(0, args[0], ("address",)) is None:
            return
        network = self._v6_args(args)
        if network is None:
            return
        port = self.port
        if any(n.ip == network.ip and n.prefixlen == network.prefixlen for n in port.ipv6):
            return
        refusal = check_ipv6(self.core.switch_configuration, port, network)
        if refusal:
            self.refuse(refusal)
            return
        port.ipv6 = [*port.ipv6, network]

    def do_no_ipv6(self, *args: str) -> None:
        """no ipv6 address [X/LEN]."""
        if not args:
            self.incomplete()
            return
        if self.keyword(0, args[0], ("address",)) is None:
            return
        if len(args) == 1:
            self.port.ipv6 = []
            return
        network = self._v6_args(args)
        if network is not None:
            self.port.ipv6 = [
                n
                for n in self.port.ipv6
                if not (n.ip == network.ip and n.prefixlen == network.prefixlen)
            ]

    def _v6_args(self, args: Sequence[str]) -> IPNetwork | None:
        if len(args) < 2:
            self.incomplete()
            return None
        text = args[1]
        if "/" not in text:
            if _v6(text) is None:
                self.invalid(1)
            else:
                self.incomplete()
            return None
        network = _v6(text)
        if network is None:
            self.invalid(1)
            return None
        if len(args) > 2:
            self.invalid(2)
            return None
        return network


def _v6(text: str) -> IPNetwork | None:
    if ":" not in text:
        return None
    try:
        network = IPNetwork(text)
    except (AddrFormatError, ValueError, TypeError):
        return None
    return network if network.version == 6 else None


PIM_MODES = ("sparse-mode", "dense-mode", "sparse-dense-mode")


class IosSubmodeProcessor(IosCommandMixin, BaseCommandProcessor):  # type: ignore[misc]
    """A configuration sub-mode entered from configuration mode: prompt
    ``hostname(config-MODE)#``; `init` receives what the mode configures (a VRF name, a
    routing process) after fake-switches' usual arguments, as `context`."""

    mode = ""
    context: Any = None

    def __init__(self, core: IosRouterCore) -> None:
        super().__init__()
        self.core = core

    def init(self, *args: Any) -> None:
        super().init(*args[:4])
        self.context = args[4] if len(args) > 4 else None

    def get_prompt(self) -> str:
        return f"{self.core.hostname}(config-{self.mode})#"


class IosVrfProcessor(IosSubmodeProcessor):
    """``Router(config-vrf)#``: ``address-family ipv4|ipv6``, ``exit-address-family``,
    ``rd``, ``description``, ``exit`` (address families are kept; nothing else is)."""

    mode = "vrf"

    @property
    def vrf(self) -> str:
        return str(self.context)

    def do_address_family(self, *args: str) -> None:
        """address-family ipv4|ipv6 [unicast]."""
        if not args:
            self.incomplete()
            return
        family = self.keyword(0, args[0], ("ipv4", "ipv6"))
        if family is not None and family not in self.core.vrfs[self.vrf]:
            self.core.vrfs[self.vrf].append(family)

    def do_exit_address_family(self, *_: str) -> None:
        """Nothing to leave: families are kept in this mode."""

    def do_rd(self, *_: str) -> None:
        """Accepted, not kept."""

    def do_description(self, *_: str) -> None:
        """Accepted, not kept."""

    def do_exit(self, *args: str) -> None:
        """Back to configuration mode."""
        if args:
            self.invalid(0)
        else:
            self.is_done = True


class IosArchiveProcessor(IosSubmodeProcessor):
    """``Router(config-archive)#``: ``[no] path URL``, ``[no] maximum N`` (1..14),
    ``exit`` (the section's other commands are not implemented: invalid input)."""

    mode = "archive"

    def do_path(self, *args: str) -> None:
        """path URL: a file system prefix (``flash:``, ``bootflash:``...) and a name."""
        if not args:
            self.incomplete()
        elif not re.fullmatch(r"[a-z][a-z0-9-]*:\S*", args[0]):
            self.invalid(0)
        elif len(args) > 1:
            self.invalid(1)
        else:
            self.core.archive.path = args[0]

    def do_no_path(self, *_: str) -> None:
        """Remove the path: the rollback feature is off."""
        self.core.archive.path = None

    def do_maximum(self, *args: str) -> None:
        """maximum N: how many archive files are kept."""
        if not args:
            self.incomplete()
        elif not args[0].isdigit() or not 1 <= int(args[0]) <= archive.MAX_ARCHIVES:
            self.invalid(0)
        elif len(args) > 1:
            self.invalid(1)
        else:
            self.core.archive.maximum = int(args[0])

    def do_no_maximum(self, *_: str) -> None:
        """Back to the default (10)."""
        self.core.archive.maximum = None

    def do_exit(self, *args: str) -> None:
        """Back to configuration mode."""
        if args:
            self.invalid(0)
        else:
            self.is_done = True


class IosRouterProcessor(IosSubmodeProcessor):
    """``Router(config-router)#`` of ``router ospf`` / ``router bgp``: the router-id
    (OSPF: ``router-id A``, waits for ``clear ip ospf process`` when the process runs
    with another; BGP: ``bgp router-id A``, at once), and other lines kept as typed
    (OSPF ``network``, ``passive-interface``...; BGP ``neighbor``, ``bgp ...``)."""

    mode = "router"

    @property
    def process(self) -> rt.Process:
        assert isinstance(self.context, rt.Process)
        return self.context

    def get_command_func(self, line: str) -> tuple[Callable[..., Any] | None, list[str]]:
        """What the process's mode knows; anything else goes to configuration mode (which
        runs it and leaves this mode, as IOS)."""
        words = line.split()
        first = words[0].lower() if words else ""
        if first == "no" and len(words) > 1:
            first = words[1].lower()
        known = ROUTER_WORDS[self.process.protocol]
        # `router ...` is the global command (another process), not an abbreviated
        # `router-id`.
        if first == "router" or not any(k.startswith(first) for k in (*known, "exit")):
            return None, []
        return super().get_command_func(line)

    def do_router_id(self, *args: str) -> None:
        """OSPF ``router-id A``."""
        if self.process.protocol != rt.OSPF:
            self.invalid(0)
        else:
            self._router_id(args, 0)

    def do_no_router_id(self, *args: str) -> None:
        """OSPF ``no router-id``."""
        if self.process.protocol != rt.OSPF or args:
            self.invalid(0)
        else:
            self._set_router_id(None)

    def do_bgp(self, *args: str) -> None:
        """BGP ``bgp router-id A``; other ``bgp ...`` lines are kept."""
        if self.process.protocol != rt.BGP or not args:
            self.incomplete() if not args else self.invalid(0)
            return
        if "router-id".startswith(args[0].lower()) and len(args[0]) > 1:
            self._router_id(args, 1)
        else:
            self._keep("bgp", args)

    def do_no_bgp(self, *args: str) -> None:
        """BGP ``no bgp router-id``; ``no bgp X`` removes a kept line."""
        if self.process.protocol != rt.BGP or not args:
            self.incomplete() if not args else self.invalid(0)
        elif "router-id".startswith(args[0].lower()) and len(args[0]) > 1:
            self._set_router_id(None)
        else:
            self._drop("bgp", args)

    def _router_id(self, args: Sequence[str], at: int) -> None:
        if len(args) <= at:
            self.incomplete()
            return
        if len(args) > at + 1:
            self.invalid(at + 1)
            return
        address = rt.valid_router_id(args[at])
        if address is None:
            self.invalid(at)
            return
        self._set_router_id(address)

    def _set_router_id(self, address: Any) -> None:
        p = self.process
        if address == p.router_id:
            return
        p.router_id = address
        if p.protocol == rt.BGP:  # applied at once (IOS resets the BGP sessions)
            self.core.routing.start(self.core.switch_configuration, p)
        elif p.live is not None and p.live != address:
            self.write_line(rt.OSPF_RELOAD)

    def _keep(self, word: str, args: Sequence[str]) -> None:
        line = " ".join([word, *args])
        if line not in self.process.lines:
            self.process.lines.append(line)

    def _drop(self, word: str, args: Sequence[str]) -> None:
        prefix = " ".join([word, *args])
        self.process.lines = [x for x in self.process.lines if not x.startswith(prefix)]

    def do_network(self, *args: str) -> None:
        """OSPF ``network A WILDCARD area X``."""
        ok = (
            self.process.protocol == rt.OSPF
            and len(args) == 4
            and parse_dotted_quad(args[0]) is not None
            and parse_dotted_quad(args[1]) is not None
            and args[2] == "area"
        )
        if len(args) < 4:
            self.incomplete()
        elif not ok:
            self.invalid(0)
        else:
            self._keep("network", args)

    def do_no_network(self, *args: str) -> None:
        """``no network ...``."""
        self._drop("network", args)

    def do_passive_interface(self, *args: str) -> None:
        """OSPF ``passive-interface X`` (kept as typed)."""
        if not args:
            self.incomplete()
        else:
            self._keep("passive-interface", args)

    def do_neighbor(self, *args: str) -> None:
        """BGP ``neighbor A remote-as N`` and other ``neighbor`` lines (kept as typed)."""
        if self.process.protocol != rt.BGP:
            self.invalid(0)
        elif len(args) < 2:
            self.incomplete()
        else:
            self._keep("neighbor", args)

    def do_no_neighbor(self, *args: str) -> None:
        """``no neighbor A``: every line of that neighbour."""
        self._drop("neighbor", args)

    def do_exit(self, *args: str) -> None:
        """Back to configuration mode."""
        if args:
            self.invalid(0)
        else:
            self.is_done = True


ROUTER_WORDS = {
    rt.OSPF: ("router-id", "network", "passive-interface"),
    rt.BGP: ("bgp", "neighbor"),
}


class IosPipingProcessor(PipingProcessor):  # type: ignore[misc]
    """``| include``/``exclude`` (regex, as IOS), ``| begin``, ``| section``."""

    def do_include(self, *args: str) -> LineFilter:
        """Keep lines matching the regex."""
        return LineFilter(" ".join(args), keep=True)

    def do_exclude(self, *args: str) -> LineFilter:
        """Drop lines matching the regex."""
        return LineFilter(" ".join(args), keep=False)

    def do_section(self, *args: str) -> SectionFilter:
        """Keep top-level lines matching the regex and their indented children."""
        return SectionFilter(" ".join(args))


class LineFilter:
    """Line filter for ``| include`` / ``| exclude``."""

    def __init__(self, pattern: str, keep: bool) -> None:
        self.regex = re.compile(pattern)
        self.keep = keep

    def pipe(self, data: str) -> str | bool:
        """The data to print, or False to print nothing."""
        found = self.regex.search(data.rstrip("\n")) is not None
        return data if found == self.keep else False


class SectionFilter:
    """Section filter for ``| section``: a matching parent line and its indented lines."""

    def __init__(self, pattern: str) -> None:
        self.regex = re.compile(pattern)
        self.inside = False

    def pipe(self, data: str) -> str | bool:
        """The data to print, or False to print nothing."""
        if data[:1] not in (" ", "\n", ""):
            self.inside = self.regex.search(data.rstrip("\n")) is not None
        elif data[:1] != " ":
            return False
        return data if self.inside else False

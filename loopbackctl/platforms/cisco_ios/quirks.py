"""How Cisco IOS talks, as data: refusals, prompts, the save dialogue, and how its
running configuration differs from what a template writes (CONFIG_SYNTAX)."""

from __future__ import annotations

import dataclasses
import re

from loopbackctl.remediation import ConfigSyntax, Normalisation
from loopbackctl.transport.cli import CliQuirks

# Lines IOS answers a refused configuration command with (scrapli keeps the same list
# as `failed_when_contains`). Matched at the start of an output line, so a description
# that merely contains the text is not a refusal (its echo starts with the prompt).
FAILURE_STRINGS: tuple[str, ...] = (
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
FAILURE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^% \S+ overlaps with \S+"),
    re.compile(r"^% \S+ is overlapping with "),
)

# IOS tells when a VRF change removed an interface's addresses; the remediation re-adds
# them in the same push, so the message is expected there (and a refusal anywhere else).
VRF_NOTICE = re.compile(
    r"^% Interface (?P<interface>\S+) IPv[46] disabled and address\(es\) removed due to "
    r"(?:en|dis)abling VRF (?P<vrf>\S+)\s*$"
)

QUIRKS = CliQuirks(
    device_type="cisco_ios",
    label="IOS",
    failure_strings=FAILURE_STRINGS,
    failure_patterns=FAILURE_PATTERNS,
    # Fail closed on IOS's other configuration errors, which also start with "% " (syslog
    # lines such as `%LINK-3-UPDOWN:` have no space after the `%` and are not refusals).
    error_prefix="% ",
    # ...except this one, which a VRF change prints (the driver checks it was expected).
    notices=(VRF_NOTICE,),
    # An echoed command: `<hostname>(config...)#<command>`.
    config_echo=re.compile(r"\(config[^)]*\)#\s*(?P<command>.*?)\s*$"),
    enable="enable",
    # A request for the secret, or the prompt (`>` still user EXEC, `#` privileged).
    # IOS asks again after a wrong secret (3 times, then `% Bad secrets`).
    enable_answer=r"(?:[Pp]assword:\s*|[>#]\s*|% Bad secrets\s*)$",
    prompt_end=r"[>#]\s*$",
    # As netmiko's cisco_ios sends them: no `--More--` paging, no wrapped echoes.
    terminal_setup=("terminal width 511", "terminal length 0"),
    # IOS shortens the hostname in configuration-mode prompts; netmiko matches on this
    # many characters of it (netmiko.cisco.cisco_ios.CiscoIosBase.set_base_prompt).
    base_prompt_chars=16,
)

# IOS-XE talks as IOS does; netmiko's class for it differs only in name.
XE_QUIRKS = dataclasses.replace(QUIRKS, device_type="cisco_xe", label="IOS-XE")

WRITE_MEMORY = "write memory"
# `write memory` ends with this line once NVRAM holds the configuration.
WRITE_OK = "[OK]"

# `write memory` on some IOS releases (and `copy running-config startup-config` on all)
# asks before writing: each question and the answer loopbackctl gives (Enter: the default).
SAVE_PROMPTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Overwrite the previous NVRAM configuration\?\s*\[confirm\]\s*$"), ""),
    (re.compile(r"Destination filename \[startup-config\]\?\s*$"), ""),
)

# `show ipv6 interface brief` on a router without IPv6: refused (an image without IPv6)
# or answered with this (IPv6 routing off on some releases).
NO_IPV6 = re.compile(r"^% IPv6 .*not enabled", re.I)

# What IOS prints in `show running-config` differs from what a template may write; both
# sides pass these before they are compared, so a converged router yields no line.
NORMALISATIONS: tuple[Normalisation, ...] = (
    Normalisation(
        "implicit no shutdown",
        "IOS prints no `no shutdown`: an interface without `shutdown` is up",
        re.compile(r"^no shutdown$"),
        "drop",
    ),
    Normalisation(
        "no ip address",
        "IOS prints `no ip address` in a block without an IPv4 address",
        re.compile(r"^no ip address$"),
        "drop",
    ),
    Normalisation(
        "IPv6 upper case",
        "IOS prints IPv6 addresses upper-case and compressed (`2001:DB8::1/128`)",
        re.compile(r"^(?:no )?ipv6 address (?P<addr>[0-9A-Fa-f:.]+/\d+)(?=\s|$)"),
        "ipv6",
    ),
    Normalisation(
        "prefix length as mask",
        "IOS prints an IPv4 address with its mask (`A 255.255.255.255`), whatever form "
        "was typed (IOS-XE also takes `A/N`)",
        re.compile(r"^(?:no )?ip address (?P<addr>\d+\.\d+\.\d+\.\d+/\d+)(?=\s|$)"),
        "mask",
    ),
)

CONFIG_SYNTAX = ConfigSyntax(
    hier_platform="CISCO_IOS",
    opener="interface {name}",
    block=re.compile(r"interface (?P<name>Loopback\d+)"),
    delete="no interface {name}",
    delete_pattern=re.compile(r"no interface (?P<name>Loopback\d+)"),
    indent=" ",
    normalise=NORMALISATIONS,
    # One description and one primary address per interface: a new one replaces the old
    # in place (secondaries add up, so hier_config's IOS rule, which treats every
    # `ip address` as one, would leave a removed secondary behind).
    replaces=(r"^(description) ", r"^(ip address) \S+ \S+$"),
    # Changing an interface's VRF removes its IPv4 and IPv6 addresses (IOS says so with
    # VRF_NOTICE); the remediation puts them back after the VRF line.
    reset=re.compile(r"^vrf forwarding \S+$"),
    reset_clears=re.compile(r"^(?:ip|ipv6) address "),
    # IOS prints secondaries before the primary; a primary must exist before a secondary
    # is added, and goes last when all are removed.
    ranked=(re.compile(r"^ip address \S+ \S+$"), re.compile(r"^ip address \S+ \S+ secondary$")),
    late=(r"^no ip address \S+ \S+$",),
)

# Configuration Rollback Confirmed Change (confirm-or-revert): IOS archives the running
# configuration and puts it back by itself unless `configure confirm` comes in time. The
# timer counts whole minutes, 1..120 (Cisco's command reference).
REVERT_TIMER = "configure terminal revert timer {minutes}"
REVERT_MINUTES = (1, 120)
REVERT_CONFIRM = "configure confirm"
SHOW_REVERT_TIMER = "show archive config rollback timer"
# `configure terminal revert timer` enters configuration mode once the archive is written:
# loopbackctl leaves it at once (`end`); the change goes out in a `configure terminal` later.
CONFIG_PROMPT = re.compile(r"\(config[^)]*\)#")
# The line IOS prints once it archived the running configuration (the timer runs).
REVERT_ARMED = re.compile(
    r"^Rollback Confirmed Change: Backing up current running config to (?P<file>\S+)", re.M
)
# No `archive` / `path`: IOS refuses the timer (the text Cisco's NSO NED matches).
ARCHIVE_OFF = re.compile(r"Turn config archive on before using Rollback Confirmed Change")
# Nothing pending: `show archive config rollback timer`, and `configure confirm` after the
# timer already expired (the router put its archived configuration back).
NO_REVERT_PENDING = re.compile(r"No Rollback Confirmed Change pending", re.I)
# verify --routing, per protocol: the line (under its `router` block) that configures the
# router-id; the command that makes a running process take a newly configured one (IOS
# OSPF answers a new `router-id` with `% OSPF: Reload or use "clear ip ospf process"
# command, for this to take effect`; BGP applies `bgp router-id` at once, resetting its
# sessions); and the command that makes a process without a configured router-id choose
# it again from the loopbacks (unlike FRR's ospfd, IOS re-chooses on a clear).
# `clear ip ospf process` asks `Reset ALL OSPF processes? [no]:` first.
ROUTER_ID_LINE = {"ospf": "router-id", "bgp": "bgp router-id"}
CLEAR = {"ospf": "clear ip ospf process"}
RESELECT = {"ospf": "clear ip ospf process", "bgp": "clear ip bgp *"}

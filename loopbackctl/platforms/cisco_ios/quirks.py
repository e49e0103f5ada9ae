"""How Cisco IOS talks, as data: refusals, prompts, the save dialogue."""

from __future__ import annotations

import re

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

QUIRKS = CliQuirks(
    device_type="cisco_ios",
    label="IOS",
    failure_strings=FAILURE_STRINGS,
    failure_patterns=FAILURE_PATTERNS,
    # Fail closed on IOS's other configuration errors, which also start with "% " (syslog
    # lines such as `%LINK-3-UPDOWN:` have no space after the `%` and are not refusals).
    error_prefix="% ",
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

WRITE_MEMORY = "write memory"
# `write memory` ends with this line once NVRAM holds the configuration.
WRITE_OK = "[OK]"

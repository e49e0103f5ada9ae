"""Real device outputs kept in the repository (tests/data/*-samples, each folder with its
origin and licence): where they are and how to read them as netmiko would hand them over."""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
IOS_SAMPLES = DATA / "ios-samples"
LINUX_SAMPLES = DATA / "linux-samples"

# Folder of each IOS command under <project>/<os>/ (the command loopbackctl sends).
IOS_FOLDERS = {
    "show ip interface": "show_ip_interface",
    "show interfaces": "show_interfaces",
    "show ipv6 interface brief": "show_ipv6_interface_brief",
    "show running-config interface {name}": "show_running-config_interface",
}

# What some captures kept around the output and netmiko's send_command strips: the command
# line as typed (after a prompt, or a test harness's log line) and a trailing prompt.
_ECHO = re.compile(r"^\s*(\[[^]]*\] \+\+\+ .* \+\+\+|\S*[#>]?\s*sh(ow)? \S.*)$")
_PROMPT = re.compile(r"^\s*\S+[#>]\s*$")


def ios_samples(command: str) -> list[Path]:
    """Every real output of `command` (a cisco_ios.parse SHOW_* constant), all projects, sorted;
    ntc-templates' `.yml` expectations are not outputs."""
    folder = IOS_FOLDERS[command]
    found = sorted(
        p for p in IOS_SAMPLES.glob(f"*/*/{folder}/*") if p.is_file() and p.suffix != ".yml"
    )
    assert found, f"no samples of {command!r} under {IOS_SAMPLES}"
    return found


def sample_id(path: Path) -> str:
    """`project/os/file` of a sample, for test ids and tables."""
    rel = path.relative_to(IOS_SAMPLES).parts
    return f"{rel[0]}/{rel[1]}/{rel[-1]}"


def as_netmiko_returns(text: str) -> str:
    """`text` without the command echo or trailing prompt a capture kept (see _ECHO)."""
    lines = text.splitlines()
    while lines and (not lines[0].strip() or _ECHO.match(lines[0])):
        lines.pop(0)
    while lines and (not lines[-1].strip() or _PROMPT.match(lines[-1])):
        lines.pop()
    return "\n".join(lines) + "\n"

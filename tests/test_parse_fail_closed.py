"""Every parser fails closed: take each recorded output, insert a line the parser does not
expect inside a loopback's block, and the answer is exactly the loopbacks of the original,
or a refusal (ParseError) — never a different answer.

IOS: every real sample of tests/data/ios-samples that is read (not refused) and every
recording of tests/data/ios, for each of the four commands; junk of several kinds at
several places of each loopback block (for the running configuration, of each interface
block: all of it is what the reader returns).

Linux `ip -j` (the driver's read, which local mode uses too): every recorded JSON answer
for lo; an unexpected key in lo's object or in each address entry (ignored: same answer),
an unexpected entry at each place of addr_info and beside lo (refused or same answer), a
line of text at each line of the answer printed one key a line (refused).
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from loopbackctl.errors import DeviceError
from loopbackctl.platforms.cisco_ios import parse as p
from loopbackctl.platforms.cisco_ios import running
from tests import test_ios_samples as expected
from tests.samples import DATA, LINUX_SAMPLES, as_netmiko_returns, ios_samples, sample_id
from tests.test_linux_parse import read


@dataclass(frozen=True)
class Command:
    """How to parse one command's answer, what of it to compare, where its blocks are."""

    name: str
    parse: Callable[[str], Any]
    view: Callable[[Any], Any]  # the loopbacks of the answer, comparable
    starts: re.Pattern[str]  # the first line of a block under test
    ends: Callable[[str], bool]  # a line that starts the next block
    # The line a junk interface of an unknown form brings with it.
    own_line: str


# The test finds blocks with its own patterns, not the parser's.
HEADER = re.compile(r"^\s*[\w./:-]+ is (up|down|administratively down|deleted|reset)\b")
V6_INTERFACE = re.compile(r"^\S+\s+\[")
HARDWARE = re.compile(r"^\s*Hardware is ")
DESCRIPTION = re.compile(r"^\s*Description:")


def _any_header(line: str) -> bool:
    return bool(HEADER.match(line))


def _ip_view(rows: list[p.IpInterfaceRow]) -> Any:
    return {r.name: (r.ipv4, r.shutdown, r.deleted) for r in rows if p.is_loopback(r.name)}


def _if_view(rows: list[p.InterfaceRow]) -> Any:
    return {r.name: (r.description, r.shutdown, r.deleted) for r in rows if p.is_loopback(r.name)}


def _v6_view(rows: dict[str, tuple[ipaddress.IPv6Address, ...]]) -> Any:
    return {name: addrs for name, addrs in rows.items() if p.is_loopback(name)}


def _section_view(blocks: dict[str, str]) -> Any:
    # What the reader's answer means for the model; every line of a block is its own
    # (an extra line inside a block is configuration of that block, read as such).
    return {n: (running.vrf_of(b), running.ipv6_of(n, b)) for n, b in blocks.items()}


COMMANDS = {
    c.name: c
    for c in [
        Command(
            p.SHOW_IP_INTERFACE,
            p.parse_show_ip_interface,
            _ip_view,
            re.compile(r"^Loopback\d+ is "),
            _any_header,
            "  Internet address is 198.18.99.1/32",
        ),
        Command(
            p.SHOW_INTERFACES,
            p.parse_show_interfaces,
            _if_view,
            re.compile(r"^\s*Loopback\d+ is "),
            _any_header,
            "    Description: pseudowire to core router",
        ),
        Command(
            p.SHOW_IPV6_BRIEF,
            p.parse_show_ipv6_brief,
            _v6_view,
            re.compile(r"^Loopback\d+\s+\["),
            lambda line: bool(V6_INTERFACE.match(line)),
            "    2001:DB8:FFFF::1",
        ),
        Command(
            p.SHOW_RUNNING_INTERFACE,
            p.parse_running_interface,
            lambda blocks: blocks,
            re.compile(r"^interface \S+"),
            lambda line: line.rstrip() in ("!", "end"),
            " ipv6 address 2001:DB8:FFFF::1/128",
        ),
        Command(
            running.SHOW_RUNNING_LOOPBACKS,
            running.read_blocks,
            _section_view,
            re.compile(r"^interface Loopback\d+"),
            lambda line: not line.startswith(" "),
            " ipv6 address 2001:DB8:FFFF::1/128",
        ),
    ]
}

# Lines no parser expects inside a block. "own line" stands for the command's own_line.
JUNK: dict[str, list[str]] = {
    "indented unknown line": ["  Frobnication is enabled"],
    "unindented unknown line": ["frobnication enabled"],
    "header of an unknown state": ["Tunnel9 is initializing, line protocol is down"],
    "header without a line protocol": ["pseudowire1 is up"],
    "indented header": ["  Serial9/9 is up, line protocol is up"],
    "description": ["  Description: not this loopback's"],
    "unknown interface with its own line": ["pseudowire1 is up", "own line"],
}


def _as_section(text: str) -> str:
    """A `show running-config interface LoopbackN` answer as `| section` prints the same
    block: without the header, `!` and `end`, and not indented as a whole."""
    lines = [line for line in text.splitlines() if line.strip()]
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    lines = [line[indent:] for line in lines]
    return "\n".join(line for line in lines if running._OPEN.match(line) or line[:1] == " ") + "\n"


def _recorded(command: str) -> list[tuple[str, str]]:
    """(id, text) of every output of `command` that is read: the real samples and this
    project's recordings."""
    if command == running.SHOW_RUNNING_LOOPBACKS:
        # No real capture of this command is public; the same blocks as IOS prints them
        # for `show running-config interface LoopbackN` (real and recorded) stand in.
        sources = [
            path
            for path in ios_samples(p.SHOW_RUNNING_INTERFACE)
            if re.search(r"^\s*interface Loopback", path.read_text(), re.M)
        ] + [DATA / "ios" / "router1" / "show_running-config_interface_Loopback0.raw"]
        return [(f"as section/{path.name}", _as_section(path.read_text())) for path in sources]
    table = {c[0]: c[3] for c in expected.CASES}[command]
    out = [
        (sample_id(path), as_netmiko_returns(path.read_text()))
        for path in ios_samples(command)
        if not isinstance(table[sample_id(path)], str)
    ]
    folder = DATA / "ios"
    files = {
        p.SHOW_IP_INTERFACE: ["router1/show_ip_interface.raw"],
        p.SHOW_INTERFACES: ["router1/show_interfaces.raw"],
        p.SHOW_IPV6_BRIEF: ["router1/show_ipv6_interface_brief.raw"],
        p.SHOW_RUNNING_INTERFACE: [
            "router1/show_running-config_interface_Loopback0.raw",
            "running_config_ipv6_forms.raw",
            "running_config_ipv6_link_local.raw",
        ],
    }[command]
    out += [(f"recorded/{name}", (folder / name).read_text()) for name in files]
    return out


def _blocks(cmd: Command, lines: list[str]) -> list[tuple[int, int]]:
    """(first line, end) of every block under test; end is the next block's first line."""
    found = []
    for i, line in enumerate(lines):
        if cmd.starts.match(line):
            end = next((j for j in range(i + 1, len(lines)) if cmd.ends(lines[j])), len(lines))
            found.append((i, end))
    return found


def _positions(start: int, end: int) -> list[int]:
    """Where to insert (before that line): every place among the block's first lines (the
    header, hardware, description, address and MTU lines), its middle and its end."""
    return sorted({*range(start + 1, min(end, start + 7) + 1), (start + 1 + end) // 2, end})


def _description_slot(lines: list[str], start: int, end: int) -> int | None:
    """For `show interfaces`: where IOS prints this block's description if it has none."""
    i = start + 1
    while i < end and HARDWARE.match(lines[i]):
        i += 1
    return None if i < end and DESCRIPTION.match(lines[i]) else i


def _cases() -> list[Any]:
    out = []
    for name, cmd in COMMANDS.items():
        for sid, text in _recorded(name):
            if _blocks(cmd, text.splitlines()):
                out.append(pytest.param(cmd, text, id=f"{name}:{sid}"))
    return out


@pytest.mark.parametrize(("cmd", "text"), _cases())
def test_unexpected_line_in_a_block_reads_the_same_or_is_refused(cmd: Command, text: str) -> None:
    original = cmd.view(cmd.parse(text))
    lines = text.splitlines()
    wrong: list[str] = []
    tried = 0
    for start, end in _blocks(cmd, lines):
        for at in _positions(start, end):
            for kind, junk in JUNK.items():
                if (
                    cmd.name == p.SHOW_INTERFACES
                    and kind == "description"
                    and at == _description_slot(lines, start, end)
                ):
                    # There IOS prints the interface's description: that line is not
                    # unexpected, it is the description.
                    continue
                inserted = [cmd.own_line if j == "own line" else j for j in junk]
                changed = "\n".join(lines[:at] + inserted + lines[at:]) + "\n"
                tried += 1
                try:
                    got = cmd.view(cmd.parse(changed))
                except p.ParseError:
                    continue
                if got != original:
                    wrong.append(f"{kind} before line {at + 1} ({lines[start].strip()}): {got}")
    assert tried
    assert not wrong, f"{len(wrong)} of {tried} insertions read differently:\n" + "\n".join(
        wrong[:10]
    )


def test_every_command_is_covered() -> None:
    covered = {case.values[0].name for case in _cases()}
    assert covered == set(COMMANDS)


# -- Linux `ip -j` ----------------------------------------------------------------------

# Address entries iproute2 does not print for an address loopbackctl can manage.
_V4 = {"family": "inet", "local": "198.18.99.1", "prefixlen": 32}
JUNK_ENTRIES: dict[str, Any] = {
    "empty object (old iproute2 with a filter)": {},
    "no local": {"family": "inet", "prefixlen": 32},
    "unknown family": {**_V4, "family": "mpls"},
    "prefixlen as text": {**_V4, "prefixlen": "32"},
    "prefixlen as a float": {**_V4, "prefixlen": 32.0},
    "prefixlen as a bool": {**_V4, "prefixlen": True},
    "family that is not the address's": {**_V4, "family": "inet6"},
    "peer address": {**_V4, "address": "198.18.99.2"},
    "text": "inet 198.18.99.1/32",
}
# Entries beside lo's object in the answer.
JUNK_LINKS: dict[str, Any] = {
    "a second lo": {
        "ifindex": 1,
        "ifname": "lo",
        "flags": ["LOOPBACK", "UP"],
        "link_type": "loopback",
        "addr_info": [{"family": "inet", "local": "198.18.99.1", "prefixlen": 32}],
    },
    "another interface": {"ifindex": 9, "ifname": "dummy0", "flags": [], "addr_info": []},
    "empty object": {},
    "text": "lo",
}


RECORDINGS = ("fresh", "up", "flags")


def _linux_recorded() -> list[tuple[str, str]]:
    """(id, `ip -j addr show dev lo`) of every recording."""
    folder = DATA / "linux"
    out = [(f"recorded/{name}", (folder / f"{name}_addr.json").read_text()) for name in RECORDINGS]
    for path in sorted((LINUX_SAMPLES / "cloud-init" / "netinfo").iterdir()):
        # An `ip -j addr show` of every interface: its lo entry is what `dev lo` prints.
        lo = json.dumps([d for d in json.loads(path.read_text()) if d.get("ifname") == "lo"])
        out.append((f"cloud-init/{path.name}", lo))
    return out


def _mutations(doc: list[Any]) -> list[tuple[str, str]]:
    """(what, text) for every unexpected key, entry and line put into the answer `doc`."""
    out = []
    changed = copy.deepcopy(doc)
    changed[0]["frobnication"] = {"on": True}
    out.append(("unknown key in lo", json.dumps(changed)))
    for i in range(len(doc[0].get("addr_info", []))):
        changed = copy.deepcopy(doc)
        changed[0]["addr_info"][i]["frobnication"] = True
        out.append((f"unknown key in address {i}", json.dumps(changed)))
    for i in range(len(doc[0].get("addr_info", [])) + 1):
        for kind, entry in JUNK_ENTRIES.items():
            changed = copy.deepcopy(doc)
            changed[0].setdefault("addr_info", []).insert(i, entry)
            out.append((f"{kind} as address {i}", json.dumps(changed)))
    for kind, entry in JUNK_LINKS.items():
        out.append((f"{kind} before lo", json.dumps([entry, *doc])))
        out.append((f"{kind} after lo", json.dumps([*doc, entry])))
    lines = json.dumps(doc, indent=1).splitlines()
    for i in range(1, len(lines)):
        out.append(
            (
                f"a line of text before line {i + 1}",
                "\n".join([*lines[:i], "frobnication", *lines[i:]]),
            )
        )
    return out


@pytest.mark.parametrize("addr", [pytest.param(a, id=i) for i, a in _linux_recorded()])
def test_unexpected_json_reads_the_same_or_is_refused(addr: str) -> None:
    original = read((0, addr))
    wrong: list[str] = []
    mutations = _mutations(json.loads(addr))
    for what, text in mutations:
        try:
            if read((0, text)) != original:
                wrong.append(what)
        except DeviceError:
            pass
    assert not wrong, f"{len(wrong)} of {len(mutations)} read differently:\n" + "\n".join(
        wrong[:10]
    )

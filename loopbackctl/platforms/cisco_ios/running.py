"""The running configuration of every loopback in one read:
`show running-config | section ^interface Loopback`. Pure: text in, blocks out.

IOS prints each matching top-level line with the indented lines under it, nothing else
(some releases put the `Building configuration...` header first). Every other line, and
a block named twice, is refused: what is read is either every loopback's block exactly or
a ParseError, never a partial configuration that the remediation would "fix".
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping

from loopbackctl.errors import ParseError
from loopbackctl.platforms.cisco_ios.parse import RunningInterface

SHOW_RUNNING_LOOPBACKS = "show running-config | section ^interface Loopback"

_HEADER = re.compile(r"^(Building configuration\.\.\.|Current configuration\s*:.*|!)\s*$")
_OPEN = re.compile(r"^interface (Loopback\d+)\s*$")
_VRF = re.compile(r"^ vrf forwarding (\S+)\s*$")
_IPV6 = re.compile(r"^ ipv6 address ([0-9A-Fa-f:.]+/\d+)\s*$")
# IPv6 forms loopbackctl does not manage (eui-64, anycast, autoconfig...): it refuses to
# guess what they mean.
_IPV6_OTHER = re.compile(r"^ ipv6 address (.+?)\s*$")
_LINK_LOCAL = re.compile(r"^\S+ link-local$")


def read_blocks(text: str) -> dict[str, str]:
    """Interface → its block (the `interface` line and the lines under it, as printed)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            if current is None:
                raise ParseError(f"{SHOW_RUNNING_LOOPBACKS!r}: {line.strip()!r} outside a block")
            current.append(line.rstrip())
            continue
        opened = _OPEN.match(line)
        if opened is None:
            if _HEADER.match(line) and not blocks:
                continue
            raise ParseError(f"{SHOW_RUNNING_LOOPBACKS!r} printed {line.strip()!r}; cannot read it")
        name = opened.group(1)
        if name in blocks:
            raise ParseError(f"{SHOW_RUNNING_LOOPBACKS!r} shows {name} twice; cannot read it")
        current = blocks[name] = [line.rstrip()]
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def check_complete(blocks: Mapping[str, str], loopbacks: Iterable[str]) -> None:
    """ParseError unless `blocks` holds exactly the `loopbacks` `show ip interface` listed."""
    want = set(loopbacks)
    if set(blocks) != want:
        missing = sorted(want - set(blocks))
        extra = sorted(set(blocks) - want)
        what = "; ".join(
            [f"missing {', '.join(missing)}"] * bool(missing)
            + [f"not in show ip interface: {', '.join(extra)}"] * bool(extra)
        )
        raise ParseError(f"{SHOW_RUNNING_LOOPBACKS!r} does not match the interfaces: {what}")


def vrf_of(block: str) -> str | None:
    """The VRF a block's `vrf forwarding` names, None when it has none."""
    found = [m.group(1) for m in map(_VRF.match, block.splitlines()) if m]
    if len(found) > 1:
        raise ParseError(f"{block.splitlines()[0]}: more than one `vrf forwarding`")
    return found[0] if found else None


def ipv6_of(name: str, block: str) -> RunningInterface:
    """A block's IPv6 addresses with their prefix lengths (link-local ones left out; forms
    loopbackctl does not manage collected in `other`)."""
    v6: list[ipaddress.IPv6Interface] = []
    other: list[str] = []
    for line in block.splitlines()[1:]:
        plain = _IPV6.match(line)
        if plain:
            try:
                v6.append(ipaddress.IPv6Interface(plain.group(1)))
            except ValueError:
                raise ParseError(f"{name}: unreadable IPv6 address {plain.group(1)!r}") from None
            continue
        form = _IPV6_OTHER.match(line)
        if form and not _LINK_LOCAL.match(form.group(1)):
            other.append(form.group(1))
    return RunningInterface(name, tuple(v6), tuple(other))

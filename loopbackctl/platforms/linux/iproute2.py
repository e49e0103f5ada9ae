"""The iproute2 template's text → the commands sent, or a refusal; nothing else is sent.

One command per line, in the order the template writes them; blank lines and `#` comment
lines are skipped. Each line must be an `ip` command on lo, in one of these forms:

    ip [-4|-6] link set [dev] lo up|down|mtu N ...
    ip [-4|-6] address|addr add|replace|change|del|delete ADDRESS/LEN [OPTION ...] dev lo

(options may follow `dev lo` too), with the options iproute2 documents for an address
(`valid_lft`, `preferred_lft`, `scope`, `metric`, `label lo[:X]`, `broadcast`, `anycast`,
`peer`, `proto`, `home`, `nodad`, `optimistic`, `mngtmpaddr`, `noprefixroute`,
`autojoin`). The lines run in a root shell, so every word must be plain: letters, digits
and `_.:/+-` only (no `;`, `|`, `$`, quotes, globs or redirections), and a line with a
control character (a tab, a carriage return) is refused whole.

What a line may do is bounded by what the template was asked to do: `del` only of an
address being removed (lo's own 127.0.0.1/8 and ::1/128 never are), `down` only when
asked. A template may add to a command (`preferred_lft 0`), comment, reorder, or leave a
step out (the read-back then fails and the change is undone); it cannot send anything
else.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass

from loopbackctl.model import IPInterface
from loopbackctl.platforms.linux import PROTECTED
from loopbackctl.values import CONTROL, oneline

WORD = re.compile(r"[A-Za-z0-9_.:/+-]+")
LABEL = re.compile(r"lo(:[A-Za-z0-9_.-]{1,12})?")
FORMS = (
    "an `ip` command on lo: `ip link set dev lo up|down|mtu N` or"
    " `ip address add|replace|change|del ADDRESS/LEN ... dev lo`"
)
ADDRESS_FLAGS = frozenset(
    {"home", "nodad", "optimistic", "mngtmpaddr", "noprefixroute", "autojoin"}
)
SCOPES = frozenset({"host", "link", "global", "site", "nowhere"})
ADDRESS_VERBS = frozenset({"add", "replace", "change", "del", "delete"})


class Refused(ValueError):
    """A rendered line that is not sent; the message says why."""


@dataclass(frozen=True)
class Asked:
    """What the template was rendered to do, which bounds what its lines may do.
    `given`: the address texts the template was given (`add` and `remove`), which need
    no parsing again (ipaddress is slow: this runs for every host of a fleet)."""

    remove: Collection[IPInterface] = ()
    down: bool = False
    given: Collection[str] = ()


def commands(text: str, asked: Asked) -> list[str]:
    """The commands of `text`, one per non-blank, non-comment line, each as its words
    joined by one space. Refused (naming the line number and the line) at the first line
    that is not sent."""
    out: list[str] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(" ")
        try:
            if CONTROL.search(line):
                bad = CONTROL.search(line)
                assert bad is not None
                raise Refused(f"it holds the control character {bad.group()!r}")
            if not line or line.startswith("#"):
                continue
            out.append(_check(line.split(), asked))
        except Refused as exc:
            shown = oneline(line if len(line) <= 120 else line[:117] + "...")
            raise Refused(f"line {number} `{shown}`: {exc}") from None
    return out


def _check(words: list[str], asked: Asked) -> str:
    odd = next((w for w in words if not WORD.fullmatch(w)), None)
    if odd is not None:
        raise Refused(
            f"{oneline(odd)!r} is not a plain word (letters, digits, `_.:/+-`); these lines"
            " run in a root shell"
        )
    rest = words[1:]
    while rest and rest[0] in ("-4", "-6"):
        rest = rest[1:]
    if words[0] != "ip" or len(rest) < 2:
        raise Refused(f"not {FORMS}")
    if rest[0] == "link" and rest[1] == "set":
        _link(rest[2:], asked)
    elif rest[0] in ("address", "addr") and rest[1] in ADDRESS_VERBS:
        _address(rest[1], rest[2:], asked)
    else:
        raise Refused(f"not {FORMS}")
    return " ".join(words)


def _link(args: list[str], asked: Asked) -> None:
    if args[:2] == ["dev", "lo"]:
        args = args[2:]
    elif args[:1] == ["lo"]:
        args = args[1:]
    else:
        raise Refused("`ip link set` may change lo only (`ip link set dev lo ...`)")
    if not args:
        raise Refused("`ip link set dev lo` says nothing to change")
    while args:
        word, args = args[0], args[1:]
        if word == "up":
            continue
        if word == "down":
            if not asked.down:
                raise Refused("it takes lo down, and nothing asked for that")
            continue
        if word == "mtu" and args and args[0].isdigit():
            args = args[1:]
            continue
        raise Refused(f"`ip link set dev lo` may set up, down and mtu N only, not {word!r}")


def _address(verb: str, args: list[str], asked: Asked) -> None:
    if not args:
        raise Refused("no address")
    if "/" not in args[0]:
        raise Refused(f"{args[0]!r} has no prefix length; write ADDRESS/LEN")
    address = None if args[0] in asked.given else _interface(args[0], "address")
    devices: list[str] = []
    rest = args[1:]
    while rest:
        word, rest = rest[0], rest[1:]
        if word in ADDRESS_FLAGS:
            continue
        if not rest:
            raise Refused(f"{word!r} is not an address option iproute2 documents, or has no value")
        value, rest = rest[0], rest[1:]
        _option(word, value, devices)
    if devices != ["lo"]:
        raise Refused("it must name `dev lo`, once")
    if verb not in ("del", "delete"):
        return
    if address is None:
        address = _interface(args[0], "address")
    if address in PROTECTED:
        raise Refused(f"it removes {address.with_prefixlen}, lo's own: never removed")
    if address not in asked.remove:
        raise Refused(
            f"it removes {address.with_prefixlen}, which is not being removed (only the"
            " addresses in `remove` may be)"
        )


def _option(word: str, value: str, devices: list[str]) -> None:
    if word == "dev":
        devices.append(value)
    elif word in ("valid_lft", "preferred_lft"):
        if value != "forever" and not value.isdigit():
            raise Refused(f"{word} takes a number of seconds or `forever`, not {value!r}")
    elif word == "scope":
        if value not in SCOPES and not value.isdigit():
            raise Refused(f"scope takes host, link, global, site or a number, not {value!r}")
    elif word in ("metric", "proto"):
        if not value.isdigit() and not (word == "proto" and value.isidentifier()):
            raise Refused(f"{word} takes a number, not {value!r}")
    elif word == "label":
        if not LABEL.fullmatch(value):
            raise Refused(f"label must be lo or lo:NAME (at most 15 characters), not {value!r}")
    elif word in ("broadcast", "anycast", "peer"):
        if not (word == "broadcast" and value in ("+", "-")):
            _interface(value, word)
    else:
        raise Refused(f"{word!r} is not an address option iproute2 documents")


def _interface(word: str, what: str) -> IPInterface:
    try:
        return ipaddress.ip_interface(word)
    except ValueError:
        raise Refused(f"{word!r} is not an {what} (ADDRESS or ADDRESS/LEN)") from None

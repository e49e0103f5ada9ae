"""Configuration blocks → remediation lines, with hier_config. Pure: text in, lines out.

A config-driven platform (IOS, FRR) describes its configuration text as data
(`ConfigSyntax`): which top-level line opens a managed block (`interface LoopbackN`), how
one is deleted, which lines the device prints differently from what a template writes
(`Normalisation`, applied to the running and the intended blocks alike, so a converged
device yields no lines), which lines replace each other instead of adding up, and which
line resets a block's addresses when it changes (IOS `vrf forwarding`).

The remediation is hier_config's (running → intended, negations then additions, in its
ordering), computed over the blocks in scope only: a block outside the scope is never
seen by hier_config, so it can never be touched. hier_config (and pydantic under it) is
imported on first use, never at import time: `validate` stays light.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from hier_config import HConfig

NormaliseAction = Literal["drop", "strip", "ipv6", "mask"]


@dataclass(frozen=True)
class Normalisation:
    """One way the device prints a line differently from what a template may write.

    `pattern` is searched in a block's child line with its indentation removed; `action`:
    `drop` the line, `strip` trailing blanks, `ipv6` rewrite group `addr` as a lower-case
    compressed IPv6 address (with its `/len`), `mask` rewrite group `addr` (`A/N`) as
    `A MASK`. `why` says what the device does, for the platform's list of quirks."""

    name: str
    why: str
    pattern: re.Pattern[str]
    action: NormaliseAction

    def apply(self, text: str) -> str | None:
        """`text` normalised, None when dropped; unchanged when the pattern does not match."""
        m = self.pattern.search(text)
        if m is None:
            return text
        if self.action == "drop":
            return None
        if self.action == "strip":
            return text.rstrip()
        start, end = m.span("addr")
        return text[:start] + _rewrite(self.action, m.group("addr")) + text[end:]


def _rewrite(action: NormaliseAction, addr: str) -> str:
    try:
        if action == "ipv6":
            return ipaddress.IPv6Interface(addr).with_prefixlen.lower()
        v4 = ipaddress.IPv4Interface(addr)
        return f"{v4.ip} {v4.netmask}"
    except ValueError:
        return addr  # not an address after all: the device will say so


@dataclass(frozen=True)
class ConfigSyntax:
    """How a platform's configuration text is remediated (data; see the module doc).

    - `hier_platform`: hier_config's `Platform` member whose driver is the base;
    - `opener` / `block`: the top-level line opening a managed block (`interface {name}`),
      and the same as a regex with group `name`; `delete` / `delete_pattern`: the
      top-level line that removes one (`no interface {name}`; a template may render it);
    - `indent`: the indentation of a child line the device prints (and that is sent);
    - `normalise`: applied in order to every child line of running and intended blocks;
    - `replaces`: regexes of child lines, one group each, of which a block holds one: a
      new one replaces the old one (IOS primary `ip address`, `description`), so the old
      one is not negated first. They replace hier_config's own rules for blocks;
    - `reset` / `reset_clears`: a child line that, when it changes, makes the device drop
      every line matching `reset_clears` (IOS: a VRF change removes the addresses). The
      remediation then sends the reset line first and the cleared lines after it;
    - `ranked`: child lines matching one of these keep their places in a block but are
      ordered among themselves by the pattern they match (IOS prints secondaries before
      the primary, and needs the primary added first);
    - `late`: negations matching one of these go after every other line of the block
      (IOS refuses to remove a primary address while secondaries remain);
    - `closer`: a top-level line that ends a block (FRR prints `exit` after each one); a
      template may write it, and it is never sent.
    """

    hier_platform: str
    opener: str
    block: re.Pattern[str]
    delete: str
    delete_pattern: re.Pattern[str]
    indent: str
    normalise: tuple[Normalisation, ...]
    replaces: tuple[str, ...] = ()
    reset: re.Pattern[str] | None = None
    reset_clears: re.Pattern[str] | None = None
    ranked: tuple[re.Pattern[str], ...] = ()
    late: tuple[str, ...] = ()
    negation: str = "no "
    comment: str = "!"
    closer: str | None = None


class ConfigTextError(ValueError):
    """Configuration text that is not a set of managed blocks; the message says which line."""


Blocks = dict[str, tuple[str, ...] | None]


def split_blocks(text: str, syntax: ConfigSyntax) -> Blocks:
    """Block name → its child lines as written (None: the text deletes it).

    Blank lines, comments and closers are skipped; any other top-level line raises
    ConfigTextError, as does a block opened twice."""
    out: Blocks = {}
    current: list[str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith(syntax.comment):
            continue
        if line[:1].isspace():
            if current is None:
                raise ConfigTextError(f"line {number}: {stripped!r} is outside a block")
            current.append(line)
            continue
        if syntax.closer is not None and line == syntax.closer:
            current = None
            continue
        opened = syntax.block.fullmatch(line)
        deleted = syntax.delete_pattern.fullmatch(line)
        if opened is None and deleted is None:
            raise ConfigTextError(f"line {number}: {line!r} is not a managed block")
        name = (opened or deleted).group("name")  # type: ignore[union-attr]
        if name in out:
            raise ConfigTextError(f"line {number}: {name} appears twice")
        current = [] if opened is not None else None
        out[name] = current  # type: ignore[assignment]
    return {name: tuple(lines) if lines is not None else None for name, lines in out.items()}


def normalise(lines: Iterable[str], syntax: ConfigSyntax) -> tuple[str, ...]:
    """`lines` (children of one block) as the device would print them: one indentation,
    each Normalisation applied in order, duplicates dropped."""
    out: list[str] = []
    for line in lines:
        text: str | None = line.strip()
        for rule in syntax.normalise:
            if text is None:
                break
            text = rule.apply(text)
        if text is not None:
            text = syntax.indent + text
            if text not in out:
                out.append(text)
    return _ranked(out, syntax.ranked)


def _rank(line: str, ranked: Sequence[re.Pattern[str]]) -> int | None:
    return next((i for i, rx in enumerate(ranked) if rx.search(line.strip())), None)


def _ranked(lines: list[str], ranked: Sequence[re.Pattern[str]]) -> tuple[str, ...]:
    slots = [i for i, line in enumerate(lines) if _rank(line, ranked) is not None]
    ordered = sorted((lines[i] for i in slots), key=lambda line: _rank(line, ranked) or 0)
    for i, line in zip(slots, ordered, strict=True):
        lines[i] = line
    return tuple(lines)


@functools.cache
def _driver(syntax: ConfigSyntax) -> Any:
    """hier_config's driver for `syntax.hier_platform`, its block rules replaced by ours."""
    from hier_config import MatchRule, Platform, get_hconfig_driver
    from hier_config.models import IdempotentCommandsRule, OrderingRule

    driver = get_hconfig_driver(Platform[syntax.hier_platform])
    parent = MatchRule(re_search=syntax.block.pattern)
    ours = [
        IdempotentCommandsRule(match_rules=(parent, MatchRule(re_search=rx)))
        for rx in syntax.replaces
    ]
    theirs = [
        rule
        for rule in driver.rules.idempotent_commands
        if not (len(rule.match_rules) > 1 and _opens_block(rule.match_rules[0], syntax))
    ]
    late = [
        OrderingRule(match_rules=(parent, MatchRule(re_search=rx)), weight=LATE)
        for rx in syntax.late
    ]
    driver.rules = driver.rules.model_copy(
        update={
            "idempotent_commands": theirs + ours,
            "ordering": [*driver.rules.ordering, *late],
        }
    )
    return driver


# hier_config orders lines by weight, 500 unless a rule says otherwise.
LATE = 900


def _opens_block(rule: Any, syntax: ConfigSyntax) -> bool:
    return bool(rule.startswith == syntax.opener.format(name=""))


_lock = threading.Lock()


def preload(syntax: ConfigSyntax) -> threading.Thread:
    """Import hier_config and build the driver for `syntax` in a background thread (about
    0.3 s, mostly pydantic), so a fleet run overlaps it with its logins instead of making
    every worker wait for it at its first remediation."""

    def build() -> None:
        with _lock:
            _driver(syntax)

    thread = threading.Thread(target=build, name="loopbackctl-hier-config", daemon=True)
    thread.start()
    return thread


def _hconfig(blocks: Mapping[str, Sequence[str]], syntax: ConfigSyntax) -> HConfig:
    from hier_config import get_hconfig

    with _lock:  # the shared driver is read only, but its first use builds caches
        driver = _driver(syntax)
    text = "\n".join(
        line for name, lines in blocks.items() for line in (_header(name, syntax), *lines)
    )
    return get_hconfig(driver, text)


def _header(name: str, syntax: ConfigSyntax) -> str:
    return syntax.opener.format(name=name)


def remediation(
    running: Mapping[str, Sequence[str]],
    intended: Mapping[str, Sequence[str] | None],
    syntax: ConfigSyntax,
) -> list[str]:
    """The lines that turn the `running` blocks into the `intended` ones, for the blocks
    named in `intended` only (None: the block must not exist). Both sides are normalised
    first; a converged device gives []. Lines are indented as the device prints them."""
    have = {n: normalise(running[n], syntax) for n in intended if n in running}
    want = {n: normalise(lines, syntax) for n, lines in intended.items() if lines is not None}
    first: dict[str, list[str]] = {}
    for name in have.keys() & want.keys():
        moved = _reset(have[name], want[name], syntax)
        if moved is not None:
            first[name], have[name] = moved
    rem = _hconfig(have, syntax).config_to_get_to(_hconfig(want, syntax)).set_order_weight()
    out: list[str] = []
    for name in sorted(first.keys() - _names(rem, syntax)):
        out += [_header(name, syntax), *first[name]]
    for child in rem.all_children_sorted():
        depth = child.depth()
        out.append(syntax.indent * (depth - 1) + child.text)
        if depth == 1:
            m = syntax.block.fullmatch(child.text)
            out += first.get(m.group("name"), []) if m else []
    return out


def _names(rem: HConfig, syntax: ConfigSyntax) -> set[str]:
    found = (syntax.block.fullmatch(c.text) for c in rem.children)
    return {m.group("name") for m in found if m is not None}


def _reset(
    have: tuple[str, ...], want: tuple[str, ...], syntax: ConfigSyntax
) -> tuple[list[str], tuple[str, ...]] | None:
    """When the reset line differs: (the lines that change it, the block as the device
    holds it right after: reset line changed, cleared lines gone); else None."""
    if syntax.reset is None or syntax.reset_clears is None:
        return None
    old = [line for line in have if syntax.reset.search(line.strip())]
    new = [line for line in want if syntax.reset.search(line.strip())]
    if old == new:
        return None
    lines = new or [syntax.indent + syntax.negation + old[0].strip()]
    kept = tuple(
        line
        for line in have
        if not syntax.reset.search(line.strip()) and not syntax.reset_clears.search(line.strip())
    )
    return lines, (*new, *kept)


def block_diff(
    host: str,
    running: Mapping[str, Sequence[str]],
    intended: Mapping[str, Sequence[str] | None],
    syntax: ConfigSyntax,
) -> list[str]:
    """Each block of `intended` that differs, as a unified diff of the normalised block now
    and after apply (absent blocks as empty)."""
    out: list[str] = []
    for name, lines in intended.items():
        before = _text(name, running.get(name), syntax)
        after = _text(name, lines, syntax)
        if before == after:
            continue
        out += [
            line.rstrip("\n")
            for line in difflib.unified_diff(
                before,
                after,
                fromfile=f"{host} {name} (now)" if before else f"{host} {name} (absent)",
                tofile=f"{host} {name} (after apply)",
                lineterm="",
            )
        ]
    return out


def _text(name: str, lines: Sequence[str] | None, syntax: ConfigSyntax) -> list[str]:
    if lines is None:
        return []
    return [_header(name, syntax), *normalise(lines, syntax)]

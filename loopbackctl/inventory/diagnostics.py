"""Diagnostics as they are found, and the finished list `load` returns or raises.

Every problem names FILE:LINE:COL, the host and the key; the finished list is
deduplicated, sorted by place, and one line each.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from loopbackctl.errors import Diagnostic, Mark
from loopbackctl.values import oneline

KeyPath = tuple[str | int, ...]


@dataclass
class Diagnostics:
    """The diagnostics of one load, in the order found."""

    found: list[Diagnostic] = field(default_factory=list)
    # Where YAML itself failed: later checks add no follow-on error at those places.
    yaml_marks: set[Mark] = field(default_factory=set)
    yaml_ids: set[int] = field(default_factory=set)

    def error(self, mark: Mark, msg: str, host: str | None = None, key: str | None = None) -> None:
        self.found.append(Diagnostic(mark, msg, "error", host, key))

    def warn(self, mark: Mark, msg: str, host: str | None = None, key: str | None = None) -> None:
        self.found.append(Diagnostic(mark, msg, "warning", host, key))

    def yaml_failed_since(self, start: int) -> None:
        """The diagnostics from index `start` on are YAML's own (the reader's)."""
        for d in self.found[start:]:
            self.yaml_marks.add(d.mark)
            self.yaml_ids.add(id(d))

    def finish(self) -> list[Diagnostic]:
        """Deduplicated, sorted, one line each, and no follow-on error where YAML failed."""
        out: dict[tuple[Mark, str, str, str | None, str | None], Diagnostic] = {}
        for d in self.found:
            if self._follows_yaml_failure(d):
                continue
            clean = Diagnostic(
                Mark(oneline(d.mark.file), d.mark.line, d.mark.col),
                oneline(d.message),
                d.severity,
                oneline(d.host) if d.host is not None else None,
                oneline(d.key) if d.key is not None else None,
            )
            key = (clean.mark, clean.message, clean.severity, clean.host, clean.key)
            out.setdefault(key, clean)
        return sorted(out.values(), key=lambda d: (d.mark, d.severity, d.message))

    def _follows_yaml_failure(self, d: Diagnostic) -> bool:
        return d.severity == "error" and d.mark in self.yaml_marks and id(d) not in self.yaml_ids


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A "; did you mean X?" suffix naming the closest of `choices`, else the empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def keyname(path: tuple[Any, ...]) -> str:
    """How a diagnostic names a key path: `data.loopbacks[0].name`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(value: Any) -> str:
    """What a diagnostic says was written instead: "a list", "int 5", "nothing (null)"."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"{type(value).__name__} {value!r}"

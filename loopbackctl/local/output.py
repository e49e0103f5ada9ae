"""Local reports: a Report → table, JSON document or JUnit XML text. Pure.

JSON (one document, keys stable and documented in the README):
    {"host", "netns", "inventory_host", "mode", "status", "summary", "error",
     "changes": [command, ...], "unmanaged": [address, ...],
     "checks": [{"name", "ok", "severity", "result", "detail"}, ...], "duration"}
`result` is ok / FAIL / warn / n/a; `status` is ok / changed / drift / failed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from loopbackctl.local.checks import result_word
from loopbackctl.local.engine import Report

_COLOUR = {"ok": "32", "FAIL": "31", "warn": "33", "n/a": "2"}
_STATUS_COLOUR = {"ok": "32", "changed": "36", "drift": "33", "failed": "31"}


def document(report: Report) -> dict[str, Any]:
    r = report.result
    return {
        "host": r.name,
        "netns": report.netns,
        "inventory_host": report.inventory_host,
        "mode": report.mode,
        "status": r.status,
        "summary": report.summary or verdict_text(report),
        "error": r.error,
        "changes": list(r.changes),
        "unmanaged": list(r.unmanaged),
        "checks": [
            {
                "name": c.name,
                "ok": c.ok,
                "severity": c.severity,
                "result": result_word(c),
                "detail": c.detail,
            }
            for c in r.checks
        ],
        "duration": round(r.duration, 3),
    }


def to_json(report: Report) -> str:
    return json.dumps(document(report), indent=2, ensure_ascii=False) + "\n"


def verdict_text(report: Report) -> str:
    """The last line of the table: the status and the reason for it in a few words."""
    r = report.result
    checks = r.checks
    failing = [c.name for c in checks if result_word(c) == "FAIL"]
    counts = {w: sum(1 for c in checks if result_word(c) == w) for w in ("ok", "warn", "n/a")}
    passed = f"{counts['ok']} of {len(checks) - counts['n/a']} checks ok"
    if counts["warn"]:
        passed += f", {counts['warn']} warning(s)"
    if counts["n/a"]:
        passed += f", {counts['n/a']} not applicable"
    if r.error:
        return f"{r.error}; {passed}"
    if failing:
        return f"{len(failing)} check(s) fail: {', '.join(failing)}"
    return passed


def _paint(text: str, code: str | None, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def to_table(report: Report, colour: bool = False) -> str:
    """One row per check (name, ok/FAIL/warn/n/a, detail), changes, then a verdict line."""
    r = report.result
    rows = [(c.name, result_word(c), c.detail) for c in r.checks]
    w0 = max([len("check"), *(len(n) for n, _, _ in rows)])
    w1 = max([len("result"), *(len(x) for _, x, _ in rows)])
    lines = [f"{'check'.ljust(w0)}  {'result'.ljust(w1)}  detail"]
    for name, word, detail in rows:
        lines.append(
            f"{name.ljust(w0)}  {_paint(word.ljust(w1), _COLOUR.get(word), colour)}  {detail}"
        )
    if report.mode != "verify":
        verb = "would run" if report.mode == "apply --check" else "ran"
        if r.changes:
            lines.append(f"changes ({verb}):")
            lines += [f"  {c}    # {report.why.get(c, '')}".rstrip(" #") for c in r.changes]
        else:
            lines.append("changes: nothing to change")
    command = (
        "apply --local --check" if report.mode == "apply --check" else f"{report.mode} --local"
    )
    where = f"netns {report.netns}" if report.netns else r.name
    status = _paint(r.status, _STATUS_COLOUR.get(r.status), colour)
    summary = f"{report.summary}; " if report.summary else ""
    lines.append(
        f"{command} on {where}: {status}: {summary}{verdict_text(report)} ({r.duration:.2f} s)"
    )
    return "\n".join(lines) + "\n"


def use_colour(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, never under NO_COLOR (https://no-color.org)."""
    return (stream or sys.stdout).isatty() and "NO_COLOR" not in os.environ


def render(report: Report, fmt: str, stream: TextIO | None = None) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "junit":
        from loopbackctl.report import to_junit

        return to_junit([report.result])
    return to_table(report, colour=use_colour(stream))

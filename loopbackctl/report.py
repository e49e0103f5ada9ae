"""Reports: HostResults → table, JSON or JUnit XML text. Pure; the CLI prints them.

JSON (stable, documented in the README):
    {"hosts": [{"name", "platform", "status", "changes", "checks", "error", ...}],
     "summary": {"total", "ok", "changed", "drift", "failed", "unreachable", "skipped"}}
A `skipped` host (not managed) counts in the summary, never fails the exit code, and is a
JUnit <skipped/> test case. A shard's report (only) also has "shard": {...}
(loopbackctl.shards).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, TextIO

from loopbackctl.result import HostResult

STATUSES = ("ok", "changed", "drift", "failed", "unreachable", "skipped")
_COLOURS = {
    "ok": "green",
    "changed": "cyan",
    "drift": "yellow",
    "failed": "red",
    "unreachable": "magenta",
    "skipped": "dim",
}


def use_colour(stream: TextIO = sys.stdout) -> bool:
    """Colour only on a terminal, never under NO_COLOR (https://no-color.org)."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def summary(results: Sequence[HostResult]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for r in results:
        counts[r.status] += 1
    return {"total": len(results), **counts}


def host_dict(r: HostResult) -> dict[str, Any]:
    d = asdict(r)
    d["duration"] = round(r.duration, 3)
    return d


def to_json(results: Sequence[HostResult], shard: Mapping[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {"hosts": [host_dict(r) for r in results], "summary": summary(results)}
    if shard is not None:
        doc["shard"] = dict(shard)
    return json.dumps(doc, indent=2) + "\n"


def to_junit(results: Sequence[HostResult], suite: str = "loopbackctl") -> str:
    """One testcase per host and check (and one per host for its overall status)."""
    from xml.etree import ElementTree as ET  # only this format needs it

    root = ET.Element("testsuites")
    tests = failures = errors = skipped = 0
    ts = ET.SubElement(root, "testsuite", name=suite)
    for r in results:
        if r.status == "skipped":
            tests += 1
            skipped += 1
            tc = ET.SubElement(ts, "testcase", classname=f"{suite}.{r.name}", name="status")
            tc.set("time", "0.000")
            ET.SubElement(tc, "skipped", message=r.error or "not managed")
            continue
        cases: list[tuple[str, bool, str, str]] = [
            (
                "status",
                r.status in ("ok", "changed"),
                r.error or r.status,
                "error" if r.status in ("failed", "unreachable") else "failure",
            )
        ]
        cases += [(c.name, c.ok or c.severity != "error", c.detail, "failure") for c in r.checks]
        for name, ok, detail, kind in cases:
            tests += 1
            tc = ET.SubElement(
                ts,
                "testcase",
                classname=f"{suite}.{r.name}",
                name=name,
                time=f"{r.duration:.3f}",
            )
            if not ok:
                if kind == "error":
                    errors += 1
                else:
                    failures += 1
                ET.SubElement(tc, kind, message=detail).text = detail
            else:
                ET.SubElement(tc, "system-out").text = detail
    for el in (ts, root):
        el.set("tests", str(tests))
        el.set("failures", str(failures))
        el.set("errors", str(errors))
        el.set("skipped", str(skipped))
    buf = io.BytesIO()
    ET.ElementTree(root).write(buf, encoding="utf-8", xml_declaration=True)
    return buf.getvalue().decode() + "\n"


def _row(r: HostResult) -> list[str]:
    failed = len(r.failed_checks)
    passed = sum(1 for c in r.checks if c.ok)
    warned = [c.detail for c in r.checks if not c.ok and c.severity == "warning"]
    failing = "; ".join(c.detail for c in r.failed_checks[:2])
    # Failures first; a warning (a router-id an apply moves) is said even beside them.
    detail = r.error or "; ".join(d for d in (failing, *warned[: 1 if failing else None]) if d)
    if r.rollback and r.rollback not in detail:
        detail = f"{detail} (rollback: {r.rollback})" if detail else f"rollback: {r.rollback}"
    return [
        r.name,
        r.platform,
        r.status,
        str(len(r.changes)),
        f"{passed}/{passed + failed}" if r.checks else "-",
        str(len(r.unmanaged)) if r.unmanaged else "-",
        detail,
    ]


HEADERS = ["host", "platform", "status", "changes", "checks ok", "unmanaged", "detail"]


def to_table(results: Sequence[HostResult], colour: bool = False) -> str:
    """One row per host with counts; colour codes only when `colour`."""
    rows = [_row(r) for r in results]
    counts = summary(results)
    parts = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    total = f": {parts}" if parts else ""  # an empty shard has no host
    if colour:
        from rich.console import Console
        from rich.table import Table

        table = Table(*HEADERS, caption=f"{counts['total']} host(s){total}")
        for r, row in zip(results, rows, strict=True):
            row[2] = f"[{_COLOURS[r.status]}]{row[2]}[/]"
            table.add_row(*row)
        buf = io.StringIO()
        Console(file=buf, force_terminal=True, width=160).print(table)
        return buf.getvalue()
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    lines.append(f"{counts['total']} host(s){total}")
    return "\n".join(lines) + "\n"


def details(results: Sequence[HostResult]) -> str:
    """Every change and check of every host, one line each (the table's `-v`)."""
    lines: list[str] = []
    for r in results:
        lines += [f"{r.name}: change: {c}" for c in r.changes]
        for c in r.checks:
            # info and not ok: the check does not apply here (e.g. ::1 with IPv6 disabled)
            verdict = (
                "ok" if c.ok else {"error": "FAIL", "warning": "warning"}.get(c.severity, "n/a")
            )
            lines.append(f"{r.name}: {verdict}: {c.name}: {c.detail}")
    return "".join(f"{line}\n" for line in lines)


def diffs(results: Sequence[HostResult], check: bool) -> str:
    """apply --diff: each host's planned change as a diff, and the commands sent (or with
    `check`, those that would be sent); a blank line after them when there are any."""
    out: list[str] = []
    for r in results:
        if r.diff:
            out.append(r.diff)
        if r.diff and r.commands:
            out.append(f"# {r.name}: {'would send' if check else 'sent'}")
            out += r.commands
    return "".join(f"{line}\n" for line in out) + ("\n" if out else "")


def render(
    results: Sequence[HostResult],
    fmt: str,
    stream: TextIO = sys.stdout,
    verbose: int = 0,
    shard: Mapping[str, Any] | None = None,
) -> str:
    """The report in `fmt`; with `verbose`, the table is preceded by every check. `shard`
    (a shard's section, loopbackctl.shards) goes into the JSON report."""
    if fmt == "json":
        return to_json(results, shard)
    if fmt == "junit":
        return to_junit(results)
    head = details(results) if verbose else ""
    return head + to_table(results, colour=use_colour(stream))

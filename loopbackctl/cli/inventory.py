"""`loopbackctl inventory`: the inventory as loopbackctl resolved it, each value with
where it came from (the data is inventory.view's; this module only prints it).

JSON (stable, documented in the README):
    {"inventory": PATH,
     "hosts": [{"name", "managed", "platform", "reason", "groups", "extended_groups",
                "settings_in", "fields", "data", "connection_options", "connection"}],
     "summary": {"hosts", "managed", "not_managed"}}
where every value is {"value", "from", "at"}. `--host NAME` prints that host's object.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from typing import Any

from loopbackctl.cli.exits import EXIT_OK
from loopbackctl.errors import UsageError
from loopbackctl.inventory.view import HostView, Value, plain
from loopbackctl.values import oneline


def run(args: argparse.Namespace) -> int:
    from loopbackctl import inventory
    from loopbackctl.cli.commands import inventory_path
    from loopbackctl.select import select

    path = inventory_path(args)
    inv, warnings, explainer = inventory.explain(path)
    for w in warnings:
        print(w, file=sys.stderr)
    if args.host is not None:
        if args.host not in inv.names:
            close = difflib.get_close_matches(args.host, list(inv.names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"--host {args.host!r}: no such host in {path}{hint}")
        names = [args.host]
    else:
        names = select(inv, args.limit)
    views = explainer.views(names, os.environ)
    fmt = args.format or "table"
    if args.host is not None and fmt != "table":
        doc: Any = views[0].as_dict()
    else:
        managed = sum(1 for v in views if v.managed)
        doc = {
            "inventory": path,
            "hosts": [v.as_dict() for v in views],
            "summary": {
                "hosts": len(views),
                "managed": managed,
                "not_managed": len(views) - managed,
            },
        }
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif fmt == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    else:
        sys.stdout.write(table(views))
    return EXIT_OK


def _shown(value: Any) -> str:
    """A value on one line: text as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return oneline(value)
    return oneline(json.dumps(plain(value), separators=(", ", ": "), ensure_ascii=False))


def _row(key: str, v: Value) -> list[str]:
    if v.source is None:
        return [key, "-", "(not set)", ""]
    return [key, _shown(v.value), v.source, v.at or ""]


def table(views: list[HostView]) -> str:
    """Per host: a title line, then one row per value (key, value, from, at)."""
    out: list[str] = []
    for v in views:
        title = f"managed: {v.platform}" if v.managed else f"not managed: {v.reason}"
        groups = ", ".join(v.extended_groups) or "-"
        out.append(f"{v.name}  ({title}; groups: {groups}; settings in {v.settings_in})")
        rows = [_row(k, val) for k, val in v.fields.items()]
        rows += [_row(f"data.{k}", val) for k, val in v.data.items()]
        for cname, params in v.connection_options.items():
            rows += [_row(f"connection_options.{cname}.{k}", val) for k, val in params.items()]
        if v.connection is not None:
            rows += [_row(f"ssh.{k}", val) for k, val in v.connection.items()]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            cells = [c.ljust(w) for c, w in zip(r[:3], widths, strict=True)]
            out.append(("  " + "  ".join([*cells, r[3]])).rstrip())
        out.append("")
    return "\n".join(out)

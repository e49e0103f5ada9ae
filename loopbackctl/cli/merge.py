"""`report merge`: the JSON reports of a run's shards in, the one run's report out.

Exit code as the one run would have had: 0 every host as intended, 1 a host failed or
drifted, 130 a shard was interrupted; 2 (nothing merged) when a file cannot be read or
the files are not all the shards of one run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from loopbackctl import report, shards
from loopbackctl.cli.exits import EXIT_INTERRUPTED
from loopbackctl.errors import UsageError
from loopbackctl.result import exit_code


def _load(name: str) -> Any:
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            with open(name, encoding="utf-8") as f:
                text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"{name}: cannot read it: {why}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{name}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg}): make shard reports with"
            " --format json"
        ) from None


def run(args: argparse.Namespace) -> int:
    merged = shards.merge([(name, _load(name)) for name in args.files])
    out = sys.stdout
    out.write(report.render(merged.results, args.format, out, getattr(args, "verbose", 0)))
    out.flush()
    if merged.interrupted:
        return EXIT_INTERRUPTED
    return exit_code(merged.results)

"""Run `loopbackctl.cli.main` in this process against an inventory, capturing its output."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopbackctl.cli import main


@dataclass
class Run:
    rc: int
    out: str
    err: str

    @property
    def doc(self) -> dict[str, Any]:
        return dict(json.loads(self.out))

    def host(self, name: str) -> dict[str, Any]:
        return next(h for h in self.doc["hosts"] if h["name"] == name)


def run_cli(
    inventory: Path,
    known_hosts: Path,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    global_args: Sequence[str] = (),
) -> Run:
    """`loopbackctl -i INVENTORY [GLOBAL_ARGS] COMMAND --known-hosts FILE ARGS...` with `env`
    set for the call only."""
    out, err = io.StringIO(), io.StringIO()
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(
                [
                    "-i",
                    str(inventory),
                    *global_args,
                    argv[0],
                    "--known-hosts",
                    str(known_hosts),
                    *argv[1:],
                ]
            )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Run(rc, out.getvalue(), err.getvalue())

"""Local mode's commands (placeholder until local mode lands)."""

from __future__ import annotations

import argparse

from loopbackctl.errors import UsageError


def run(args: argparse.Namespace) -> int:
    raise UsageError("--local is not implemented yet")


def probe(args: argparse.Namespace) -> int:
    raise UsageError("probe is not implemented yet")

"""Fleet runs over SSH (placeholder until the runner lands)."""

from __future__ import annotations

import argparse

from loopbackctl.errors import UsageError
from loopbackctl.model import Inventory


def run(args: argparse.Namespace, inv: Inventory) -> int:
    raise UsageError(f"{args.command} over SSH is not implemented yet")

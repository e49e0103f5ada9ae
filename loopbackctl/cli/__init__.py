"""Command line: the only place that parses argv, prints and exits.

`main(argv) -> int` is what tests call; exit codes are DESIGN.md's: 0 as intended,
1 a device failed or drifted, 2 usage/inventory/template error (nothing contacted),
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from loopbackctl.cli import commands, limits
from loopbackctl.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from loopbackctl.cli.parser import build_parser
from loopbackctl.errors import InventoryError, LoopbackctlError, UsageError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": commands.validate,
    "inventory": commands.inventory,
    "render": commands.render,
    "apply": commands.fleet_or_local,
    "verify": commands.fleet_or_local,
    "probe": commands.probe,
    "lab": commands.lab,
    "report": commands.report,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code. Never raises for a user error."""
    limits.raise_nofile()
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except InventoryError as exc:
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        errors = sum(1 for d in exc.diagnostics if d.severity == "error")
        print(f"{errors} error(s); nothing was contacted", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"loopbackctl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LoopbackctlError as exc:
        print(f"loopbackctl: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("loopbackctl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except BrokenPipeError:
        return EXIT_OK


def main_entry() -> None:
    sys.exit(main())

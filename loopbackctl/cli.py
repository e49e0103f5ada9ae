"""Command line: the only place that parses argv, prints and exits.

`main(argv) -> int` is what tests call; exit codes are DESIGN.md's: 0 as intended,
1 a device failed or drifted, 2 usage/inventory/template error (nothing contacted),
130 interrupted.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Sequence
from typing import Any

from loopbackctl import __version__
from loopbackctl.errors import InventoryError, LoopbackctlError, UsageError

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exits use 2 as well
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "-i",
        "--inventory",
        default=argparse.SUPPRESS,
        help="inventory directory or file (default ./inventory or $LOOPBACKCTL_INVENTORY)",
    )
    common.add_argument(
        "--templates", default=argparse.SUPPRESS, help="directory of templates overriding shipped"
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more detail"
    )

    parser = _Parser(
        prog="loopbackctl",
        description="Keep the loopback interfaces of a fleet as the inventory says, and prove it.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"loopbackctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common_parents = [common]
    sub.required = True

    sub.add_parser("validate", parents=common_parents, help="lint the inventory")

    render = sub.add_parser(
        "render", parents=common_parents, help="show each device's configuration"
    )
    render.add_argument("--limit", help="hosts, groups or globs; ! excludes (as Ansible)")
    render.add_argument("--format", choices=("text", "json"), default="text")

    for name, helptext in (
        ("apply", "make devices carry the inventory's loopbacks"),
        ("verify", "report drift between inventory and devices"),
    ):
        p = sub.add_parser(name, parents=common_parents, help=helptext)
        p.add_argument("--limit", help="hosts, groups or globs; ! excludes (as Ansible)")
        p.add_argument("--workers", type=_positive_int, default=None)
        p.add_argument("--format", choices=("table", "json", "junit"), default=None)
        p.add_argument("--local", action="store_true", help="this machine's lo, no SSH")
        p.add_argument("--netns", help="with --local: run inside this network namespace")
        p.add_argument("--host-keys", choices=("strict", "accept-new", "off"), default="accept-new")
        p.add_argument("--known-hosts", default=None, help="default ~/.ssh/known_hosts")
        p.add_argument("--connect-timeout", type=_positive_float, default=None)
        p.add_argument("--command-timeout", type=_positive_float, default=None)
        p.add_argument(
            "--probes", type=_positive_int, default=3, help="with --local: ICMP echoes per address"
        )
        p.add_argument(
            "--local-host",
            default=None,
            help="with --local: the inventory host that is this machine",
        )
        if name == "apply":
            p.add_argument("--check", action="store_true", help="plan only, change nothing")
            p.add_argument("--diff", action="store_true", help="show the planned change")
            p.add_argument(
                "--purge",
                action="store_true",
                help="also remove addresses the inventory does not name",
            )
            p.add_argument(
                "--no-save",
                action="store_true",
                help="IOS: do not write memory after a verified change",
            )
        else:
            p.add_argument(
                "--reachability",
                action="store_true",
                help="also ping each host's loopback addresses",
            )

    probe = sub.add_parser(
        "probe", parents=common_parents, help="is anything listening on ADDR:PORT?"
    )
    probe.add_argument("target", metavar="ADDRESS:PORT")
    probe.add_argument("--netns", help="run inside this network namespace")
    probe.add_argument("--timeout", type=_positive_float, default=1.0)
    return parser


def _inventory_path(args: argparse.Namespace) -> str:
    from loopbackctl.inventory import default_path

    return getattr(args, "inventory", None) or default_path()


def load_inventory(args: argparse.Namespace) -> Any:
    """Load and validate; warnings go to stderr, errors raise InventoryError."""
    from loopbackctl import inventory

    inv, warnings = inventory.load(_inventory_path(args))
    gc.freeze()  # the inventory lives until exit: the cyclic GC need not rescan it (10k hosts)
    for w in warnings:
        print(w, file=sys.stderr)
    return inv


def cmd_validate(args: argparse.Namespace) -> int:
    inv = load_inventory(args)
    groups = len(inv.group_members)
    print(f"{_inventory_path(args)}: {len(inv.hosts)} host(s), {groups} group(s): no errors")
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from loopbackctl import render
    from loopbackctl.select import select

    inv = load_inventory(args)
    names = select(inv, args.limit)
    env = render.environment(getattr(args, "templates", None))
    rendered = render.render_all(env, [inv.hosts[n] for n in names])
    if args.format == "json":
        doc = {
            "hosts": [
                {"name": h.name, "platform": h.platform, "artifacts": arts} for h, arts in rendered
            ]
        }
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    for host, arts in rendered:
        for artifact, text in arts.items():
            print(f"### {host.name} ({host.platform}) {artifact}")
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_fleet(args: argparse.Namespace) -> int:
    if args.local:
        from loopbackctl.local import cli as local_cli

        return local_cli.run(args)
    if args.netns:
        raise UsageError("--netns goes with --local; a fleet run reaches hosts over SSH")
    from loopbackctl import fleet

    return fleet.run(args, load_inventory(args))


def cmd_probe(args: argparse.Namespace) -> int:
    from loopbackctl.local import cli as local_cli

    return local_cli.probe(args)


COMMANDS = {
    "validate": cmd_validate,
    "render": cmd_render,
    "apply": cmd_fleet,
    "verify": cmd_fleet,
    "probe": cmd_probe,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code. Never raises for a user error."""
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

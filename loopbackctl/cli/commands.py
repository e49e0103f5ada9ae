"""The commands: argparse namespace in, output printed, exit code out."""

from __future__ import annotations

import argparse
import gc
import json
import sys

from loopbackctl.cli.exits import EXIT_OK
from loopbackctl.errors import UsageError
from loopbackctl.model import Inventory


def inventory_path(args: argparse.Namespace) -> str:
    from loopbackctl.inventory import default_path

    return getattr(args, "inventory", None) or default_path()


def load_inventory(args: argparse.Namespace) -> Inventory:
    """Load and validate; warnings go to stderr, errors raise InventoryError."""
    from loopbackctl import inventory

    inv, warnings = inventory.load(inventory_path(args))
    gc.freeze()  # the inventory lives until exit: the cyclic GC need not rescan it (10k hosts)
    for w in warnings:
        print(w, file=sys.stderr)
    return inv


def validate(args: argparse.Namespace) -> int:
    inv = load_inventory(args)
    groups = len(inv.group_members)
    print(f"{inventory_path(args)}: {len(inv.hosts)} host(s), {groups} group(s): no errors")
    return EXIT_OK


def render(args: argparse.Namespace) -> int:
    from loopbackctl import render as rendering
    from loopbackctl.select import select

    inv = load_inventory(args)
    names = select(inv, args.limit)
    env = rendering.environment(getattr(args, "templates", None))
    rendered = rendering.render_all(env, [inv.hosts[n] for n in names])
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


def fleet_or_local(args: argparse.Namespace) -> int:
    if args.local:
        from loopbackctl.cli import local

        return local.run(args)
    if args.netns:
        raise UsageError("--netns goes with --local; a fleet run reaches hosts over SSH")
    from loopbackctl.cli import fleet

    return fleet.run(args, load_inventory(args))


def lab(args: argparse.Namespace) -> int:
    from loopbackctl.cli import lab as lab_cli

    return lab_cli.run(args)


def probe(args: argparse.Namespace) -> int:
    from loopbackctl.cli import local

    return local.probe(args)

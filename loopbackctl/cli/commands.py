"""The commands: argparse namespace in, output printed, exit code out."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections import Counter

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
    print(
        f"{inventory_path(args)}: {len(inv.names)} host(s), {groups} group(s): no errors"
        f"{managed_summary(inv)}"
    )
    return EXIT_OK


def managed_summary(inv: Inventory) -> str:
    """ "; 9 managed, 3 not managed: 2 junos, 1 without a platform", or "" when every host
    is managed."""
    if not inv.unmanaged:
        return ""
    counts = Counter(u.platform or "without a platform" for u in inv.unmanaged.values())
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kn: (-kn[1], kn[0])))
    return f"; {len(inv.hosts)} managed, {len(inv.unmanaged)} not managed: {kinds}"


def render(args: argparse.Namespace) -> int:
    from loopbackctl import render as rendering
    from loopbackctl.select import pick

    inv = load_inventory(args)
    chosen = pick(inv, args.limit)
    env = rendering.environment(getattr(args, "templates", None))
    rendered = rendering.render_all(env, chosen.hosts)
    if args.format == "json":
        doc = {
            "hosts": [
                {"name": h.name, "platform": h.platform, "artifacts": arts} for h, arts in rendered
            ],
            "skipped": [
                {"name": u.name, "platform": u.platform, "reason": u.reason} for u in chosen.skipped
            ],
        }
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    position = {name: i for i, name in enumerate(inv.names)}
    out: list[tuple[int, str]] = [
        (position[u.name], f"### {u.name}: skipped, not managed: {u.reason}\n")
        for u in chosen.skipped
    ]
    for host, arts in rendered:
        text = "".join(
            f"### {host.name} ({host.platform}) {artifact}\n"
            + (body if body.endswith("\n") else body + "\n")
            for artifact, body in arts.items()
        )
        out.append((position[host.name], text))
    for _, text in sorted(out, key=lambda item: item[0]):
        sys.stdout.write(text)
    return EXIT_OK


def inventory(args: argparse.Namespace) -> int:
    from loopbackctl.cli import inventory as showing

    return showing.run(args)


def fleet_or_local(args: argparse.Namespace) -> int:
    if args.local:
        if args.shard or args.processes not in (None, 1):
            raise UsageError("--shard and --processes split a fleet; --local checks this machine")
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


def report(args: argparse.Namespace) -> int:
    from loopbackctl.cli import merge

    return merge.run(args)

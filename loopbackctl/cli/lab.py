"""`loopbackctl lab up|status|down`: a real small fleet on this machine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loopbackctl.cli.exits import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from loopbackctl.errors import UsageError

if TYPE_CHECKING:
    from loopbackctl.lab.health import LabStatus
    from loopbackctl.lab.service import UpResult

SHOW_DEVICES = 12  # a larger lab prints counts, not a line per device


def run(args: argparse.Namespace) -> int:
    action = {"up": up, "status": status, "down": down}[args.lab_command]
    return action(args)


def up(args: argparse.Namespace) -> int:
    from loopbackctl.lab import service

    if args.source and (args.hosts, args.routers, args.ios) != (None, None, None):
        raise UsageError(
            "--from builds the devices of that inventory: drop --hosts/--routers/--ios"
        )
    default = service.UpRequest()
    req = service.UpRequest(
        dir=args.dir,
        hosts=default.hosts if args.hosts is None else args.hosts,
        routers=default.routers if args.routers is None else args.routers,
        ios=default.ios if args.ios is None else args.ios,
        source=args.source,
    )
    result = service.up(req)
    print(_summary(result))
    for note in result.notes:
        print(f"note: {note}")
    print("next:")
    for command in result.commands:
        print(f"  {command}")
    return EXIT_OK


def _summary(result: UpResult) -> str:
    lines = [
        f"lab {result.prefix} up in {result.seconds:.1f} s: {result.kinds}, "
        f"management {', '.join(result.slots)}",
        f"  files in {result.dir}: inventory/, id_ed25519, known_hosts, README.md",
    ]
    if len(result.devices) <= SHOW_DEVICES:
        lines += [f"  {d.name:<12} {d.kind:<9} {d.address}" for d in result.devices]
    return "\n".join(lines)


def status(args: argparse.Namespace) -> int:
    from loopbackctl.lab import service

    if args.all:
        labs = service.status_all()
        if not labs:
            print("no lab or test bed runs on this machine")
        for lab in labs:
            print(_status_line(lab))
        return EXIT_OK
    found = service.status(Path(args.dir))
    if found is None:
        print(f"loopbackctl: error: no lab in {args.dir}", file=sys.stderr)
        return EXIT_USAGE
    print(_status_line(found))
    for d in found.devices:
        mark = "ok" if d.ok else "FAIL"
        print(f"  {d.name:<12} {d.kind:<9} {d.address:<16} {d.netns:<13} {mark:<4} {d.detail}")
    return EXIT_OK if found.ok else EXIT_FAIL


def _status_line(lab: LabStatus) -> str:
    owner = "keeper" if lab.kind == "lab" else "owner"
    life = "alive" if lab.owner_alive else "DEAD (reaped by the next lab up)"
    bad = sum(1 for d in lab.devices if not d.ok)
    health = "healthy" if lab.ok else f"UNHEALTHY ({bad} device(s) failing)"
    where = lab.dir or "(test bed)"
    return (
        f"{lab.kind} {lab.prefix} {where}: {len(lab.devices)} device(s) on "
        f"{', '.join(lab.slots)}; {owner} {lab.owner} {life}; {health}"
    )


def down(args: argparse.Namespace) -> int:
    from loopbackctl.lab import service

    result = service.down(Path(args.dir))
    if result.stale is not None:
        print(f"lab {result.stale} was already gone (the machine restarted?): removed its files")
    elif result.prefix is None:
        print(f"no lab in {args.dir}: nothing to remove")
    else:
        print(f"lab {result.prefix} removed: namespaces, links, processes and files")
    if result.kept:
        print(f"kept in {args.dir} (not written by lab up): {', '.join(result.kept)}")
    return EXIT_OK

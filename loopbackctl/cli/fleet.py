"""`apply` and `verify` over SSH: options from argv, progress on a terminal, the report.

Ctrl-C (or SIGTERM) stops new hosts from starting, lets hosts in flight finish or roll
back, prints the report and exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from loopbackctl import fleet, report, shards
from loopbackctl.cli import limits
from loopbackctl.cli.exits import EXIT_INTERRUPTED
from loopbackctl.model import Inventory
from loopbackctl.result import HostResult, exit_code
from loopbackctl.runner import Job


def options(args: argparse.Namespace) -> fleet.FleetOptions:
    """The typed options of an `apply` or `verify` command line."""
    applying = args.command == "apply"
    return fleet.FleetOptions(
        mode="apply" if applying else "verify",
        limit=args.limit,
        templates=getattr(args, "templates", None),
        workers=args.workers,
        check=applying and args.check,
        purge=applying and args.purge,
        save=not (applying and args.no_save),
        reachability=not applying and args.reachability,
        ping_allow=None if applying else args.ping_allow,
        routing=not applying and args.routing,
        host_keys=args.host_keys,
        known_hosts=args.known_hosts,
        connect_timeout=args.connect_timeout,
        command_timeout=args.command_timeout,
        shard=shards.parse_spec(args.shard, os.environ) if args.shard else None,
        processes=args.processes,
    )


def _fit_descriptors(opts: fleet.FleetOptions, hosts: int) -> fleet.FleetOptions:
    """Fewer workers when the open-files limit cannot hold as many sessions (one line on
    stderr says so), rather than hosts failing with "Too many open files"."""
    limit = limits.nofile_limit()
    if limit is None:
        return opts
    wanted = fleet.workers(opts, hosts)
    cap = fleet.fd_cap(limit - limits.open_descriptors(), opts.processes)
    if cap is None or cap >= wanted:
        return opts
    print(
        f"loopbackctl: {cap} host(s) at a time instead of {wanted}: the open-files limit"
        f" (ulimit -n) is {limit}; raise it to run more at once",
        file=sys.stderr,
    )
    return dataclasses.replace(opts, workers=cap)


@contextlib.contextmanager
def _interruptible(cancel: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `cancel` instead of raising, while the pool runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if not cancel.is_set():
            print(
                "\nloopbackctl: interrupted; hosts in flight finish or roll back, no new"
                " host starts",
                file=sys.stderr,
                flush=True,
            )
        cancel.set()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _run(todo: list[Job], opts: fleet.FleetOptions, cancel: threading.Event) -> list[HostResult]:
    started = fleet.start(todo, opts, cancel)  # forks --processes before any thread starts
    if not (sys.stderr.isatty() and todo):
        return started.wait()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    verb = "applying" if opts.mode == "apply" else "verifying"
    with Progress(
        TextColumn(f"{verb} {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(todo))

        def done(r: HostResult) -> None:
            progress.update(task, advance=1, description=r.name)

        return started.wait(done)


def run(args: argparse.Namespace, inv: Inventory) -> int:
    opts = options(args)
    chosen, shard = fleet.selection(opts, inv)
    todo = fleet.jobs(opts, inv, chosen, shard)
    skipped = fleet.skipped(opts, inv, chosen, shard)
    if shard is not None:
        print(
            f"loopbackctl: shard {shard.index}/{shard.count}: {len(todo) + len(skipped)} of"
            f" the {shard.selected} selected host(s)",
            file=sys.stderr,
        )
    opts = _fit_descriptors(opts, len(todo))
    cancel = threading.Event()
    with _interruptible(cancel):
        results = fleet.in_order(inv, [*_run(todo, opts, cancel), *skipped])
    fmt = args.format or "table"
    out = sys.stdout
    if args.command == "apply" and args.diff and fmt == "table":
        out.write(report.diffs(results, opts.check))
    section = shard.section(cancel.is_set()) if shard is not None else None
    out.write(report.render(results, fmt, out, getattr(args, "verbose", 0), section))
    out.flush()
    if cancel.is_set():
        return EXIT_INTERRUPTED
    return exit_code(results)

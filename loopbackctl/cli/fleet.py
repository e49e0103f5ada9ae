"""`apply` and `verify` over SSH: options from argv, progress on a terminal, the report.

Ctrl-C, SIGTERM or SIGHUP (the terminal closed) stops new hosts from starting, lets hosts
in flight finish or roll back, prints the report (when there is still somewhere to print
it) and exits 130; a second one lists the hosts still in flight, and abandons none.
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
from loopbackctl.flight import STOP_SIGNALS, InFlight
from loopbackctl.locks import LOCK_DIR_ENV
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
        confirm_timeout=(None if not applying or args.no_confirm else args.confirm_timeout),
        lock_dir=(args.lock_dir or os.environ.get(LOCK_DIR_ENV)) if applying else None,
        allow_management_change=applying and args.allow_management_change,
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
    cap = fleet.fd_cap(limit - limits.open_descriptors(), opts.processes or 1)
    if cap is None or cap >= wanted:
        return opts
    print(
        f"loopbackctl: {cap} host(s) at a time instead of {wanted}: the open-files limit"
        f" (ulimit -n) is {limit}; raise it to run more at once",
        file=sys.stderr,
    )
    return dataclasses.replace(opts, workers=cap)


class _Signals:
    """While the pool runs: SIGINT, SIGTERM and SIGHUP (the terminal closed) set `cancel`
    instead of raising or killing; a second one lists the hosts still in flight (`flight`,
    set once the run has started)."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.flight: InFlight | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if not self.cancel.is_set():
            self.cancel.set()
            by = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
            _say(
                f"\nloopbackctl: interrupted{by}; hosts in flight finish or roll back, no new"
                " host starts"
            )
            return
        names = self.flight.names() if self.flight is not None else []
        if names:
            _say(
                f"loopbackctl: still in flight, each finishing or rolling back (none is"
                f" abandoned mid-push): {', '.join(names)}"
            )
        else:
            _say("loopbackctl: no host in flight any more; the report follows")


def _say(line: str) -> None:
    # After SIGHUP the terminal may be gone: the run goes on without the line.
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _interruptible(cancel: threading.Event) -> Iterator[_Signals]:
    """Stop signals set `cancel` instead of raising, while the pool runs."""
    handler = _Signals(cancel)
    if threading.current_thread() is not threading.main_thread():
        yield handler
        return
    old = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield handler
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _run(todo: list[Job], opts: fleet.FleetOptions, signals: _Signals) -> list[HostResult]:
    started = fleet.start(todo, opts, signals.cancel)  # forks --processes before any thread
    signals.flight = started.flight
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
    wanted = fleet.processes(opts, todo, fleet.workers(opts, len(todo)))
    opts = _fit_descriptors(dataclasses.replace(opts, processes=wanted), len(todo))
    cancel = threading.Event()
    with _interruptible(cancel) as signals:
        results = fleet.in_order(inv, [*_run(todo, opts, signals), *skipped])
    fmt = args.format or "table"
    out = sys.stdout
    try:
        if args.command == "apply" and args.diff and fmt == "table":
            out.write(report.diffs(results, opts.check))
        section = shard.section(cancel.is_set()) if shard is not None else None
        out.write(report.render(results, fmt, out, getattr(args, "verbose", 0), section))
        out.flush()
    except OSError:
        if not cancel.is_set():
            raise
        # The terminal closed (SIGHUP): nowhere to print; the devices are settled.
    if cancel.is_set():
        return EXIT_INTERRUPTED
    return exit_code(results)

"""Fleet runs over SSH: `apply` and `verify` for the hosts --limit selects.

Everything that can fail without a device (selection, templates, unknown platform) fails
here, before any host is contacted (exit 2). Ctrl-C (or SIGTERM) stops new hosts from
starting, lets hosts in flight finish or roll back, prints the report and exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from loopbackctl import render, report
from loopbackctl.driver import ConnectOptions
from loopbackctl.model import Host, Inventory
from loopbackctl.result import HostResult, exit_code
from loopbackctl.runner import Job, check_router_ids, run_fleet
from loopbackctl.select import select

EXIT_INTERRUPTED = 130
# Measured with bench/bench_linux_fleet.py --sweep (100 namespace hosts, 2 cores; verify,
# median s): 5 workers 2.97, 10 2.01, 16 1.74, 20 1.68, 30 1.78, 50 1.70. The curve is flat
# from 16 on: the hosts' sshd handshakes saturate the CPU, and more workers only add
# concurrent logins (which AAA servers and jump hosts of real fleets feel first). Fleets
# far away are latency-bound: raise --workers there.
DEFAULT_WORKERS = 16
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_COMMAND_TIMEOUT = 30.0


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(value) if ok else None


def connect_options(args: argparse.Namespace, host: Host) -> ConnectOptions:
    """Command line, else the host's data (host → groups → defaults), else the default."""
    return ConnectOptions(
        host_keys=getattr(args, "host_keys", None) or "accept-new",
        known_hosts=getattr(args, "known_hosts", None) or "~/.ssh/known_hosts",
        connect_timeout=getattr(args, "connect_timeout", None)
        or _number(host.data.get("connect_timeout"))
        or DEFAULT_CONNECT_TIMEOUT,
        command_timeout=getattr(args, "command_timeout", None)
        or _number(host.data.get("command_timeout"))
        or DEFAULT_COMMAND_TIMEOUT,
    )


def jobs(args: argparse.Namespace, inv: Inventory) -> list[Job]:
    """One Job per selected host; renders every template first (TemplateError: exit 2)."""
    from loopbackctl.drivers import get_driver

    env = render.environment(getattr(args, "templates", None))
    out = []
    for name in select(inv, getattr(args, "limit", None)):
        host = inv.hosts[name]
        get_driver(host.platform)  # unknown or missing runtime: exit 2, nobody contacted
        out.append(
            Job(
                host=host,
                mode="apply" if args.command == "apply" else "verify",
                options=connect_options(args, host),
                artifacts=render.render_host(env, host),
                check=bool(getattr(args, "check", False)),
                purge=bool(getattr(args, "purge", False)),
                save=not getattr(args, "no_save", False),
                reachability=bool(getattr(args, "reachability", False)),
            )
        )
    return out


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


def _run(todo: list[Job], workers: int, cancel: threading.Event) -> list[HostResult]:
    if not (sys.stderr.isatty() and todo):
        return run_fleet(todo, workers, cancel)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    verb = "applying" if todo[0].mode == "apply" else "verifying"
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

        return run_fleet(todo, workers, cancel, done)


def run(args: argparse.Namespace, inv: Inventory) -> int:
    todo = jobs(args, inv)
    workers = getattr(args, "workers", None) or DEFAULT_WORKERS
    cancel = threading.Event()
    with _interruptible(cancel):
        results = _run(todo, min(workers, max(1, len(todo))), cancel)
    check_router_ids(results)
    fmt = getattr(args, "format", None) or "table"
    out = sys.stdout
    if getattr(args, "diff", False) and fmt == "table":
        for r in results:
            if r.diff:
                out.write(r.diff + "\n")
            if r.diff and r.commands:
                verb = "would send" if getattr(args, "check", False) else "sent"
                out.write(f"# {r.name}: {verb}\n" + "".join(f"{c}\n" for c in r.commands))
        if any(r.diff for r in results):
            out.write("\n")
    out.write(report.render(results, fmt, out, getattr(args, "verbose", 0)))
    out.flush()
    if cancel.is_set():
        return EXIT_INTERRUPTED
    return exit_code(results)

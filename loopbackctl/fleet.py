"""Fleet runs over SSH: `apply` and `verify` for the hosts a --limit selects.

Everything that can fail without a device (selection, templates, unknown platform, a
--limit that names a host loopbackctl does not manage) fails in `jobs`, before any host
is contacted (UsageError: exit 2). Hosts the selection reaches through a group or a glob
that loopbackctl does not manage are `skipped` results. Nothing here prints.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopbackctl import locks, platforms, remediation, render, routing, shards
from loopbackctl.errors import UsageError
from loopbackctl.flight import InFlight
from loopbackctl.model import Host, Inventory
from loopbackctl.platforms.base import ChecksTemplates, Meshing
from loopbackctl.result import HostResult
from loopbackctl.runner import Job, Mode, check_router_ids, run_fleet
from loopbackctl.select import Selection, pick, select
from loopbackctl.shards import Shard
from loopbackctl.templating import Templates
from loopbackctl.transport import ping as pinger
from loopbackctl.transport.options import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONFIRM_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_KNOWN_HOSTS,
    ConnectOptions,
    HostKeyMode,
)
from loopbackctl.values import number

if TYPE_CHECKING:
    from loopbackctl.procs import Pool

# Measured with bench/bench_linux_fleet.py --sweep (100 namespace hosts, 2 cores; verify,
# median s): 5 workers 2.97, 10 2.01, 16 1.74, 20 1.68, 30 1.78, 50 1.70. The curve is flat
# from 16 on: the hosts' sshd handshakes saturate the CPU, and more workers only add
# concurrent logins (which AAA servers and jump hosts of real fleets feel first). Fleets
# far away are latency-bound: raise --workers there.
DEFAULT_WORKERS = 16

# Descriptors one worker can hold at once: its SSH socket, plus for a moment a child
# process's pipes (ping, `ip route get`: six), a reconnect's second socket while it
# restores, or known_hosts and its lock. Measured: about one per worker in a plain verify.
FDS_PER_WORKER = 8
# Descriptors the run opens beside its workers (imports, templates, pipes to --processes).
FDS_RESERVED = 16


@dataclass(frozen=True)
class FleetOptions:
    """One fleet run as the command line asked for it; None means "not given"."""

    mode: Mode
    limit: str | None = None
    templates: str | None = None
    workers: int | None = None
    check: bool = False
    purge: bool = False
    save: bool = True
    reachability: bool = False
    ping_allow: str | None = None
    routing: bool = False
    host_keys: HostKeyMode = "accept-new"
    known_hosts: str | None = None
    connect_timeout: float | None = None
    command_timeout: float | None = None
    shard: tuple[int, int] | None = None
    # None: as many as `processes` picks.
    processes: int | None = None
    # apply's confirm-or-revert window; None: --no-confirm.
    confirm_timeout: float | None = DEFAULT_CONFIRM_TIMEOUT
    # The controller's lock directory (loopbackctl.locks); None: the default.
    lock_dir: str | None = None
    allow_management_change: bool = False


def _seconds(value: Any) -> float | None:
    seconds = number(value)
    return float(seconds) if seconds is not None and seconds > 0 else None


def connect_options(opts: FleetOptions, host: Host) -> ConnectOptions:
    """Command line, else the host's data (host → groups → defaults), else the default."""
    return ConnectOptions(
        host_keys=opts.host_keys,
        known_hosts=opts.known_hosts or DEFAULT_KNOWN_HOSTS,
        connect_timeout=opts.connect_timeout
        or _seconds(host.settings.get("connect_timeout"))
        or DEFAULT_CONNECT_TIMEOUT,
        command_timeout=opts.command_timeout
        or _seconds(host.settings.get("command_timeout"))
        or DEFAULT_COMMAND_TIMEOUT,
    )


def selection(opts: FleetOptions, inv: Inventory) -> tuple[Selection, Shard | None]:
    """The hosts the run reports on (managed and skipped) and, with --shard, which shard
    of them this is. UsageError when --limit selects nothing or names a host loopbackctl
    does not manage."""
    chosen = pick(inv, opts.limit)
    _refuse_named(chosen)
    if opts.shard is None:
        return chosen, None
    names = select(inv, opts.limit)  # the run's hosts, reported in this order
    results_depend_on = {
        "mode": opts.mode,
        "check": opts.check,
        "purge": opts.purge,
        "save": opts.save,
        "reachability": opts.reachability,
        "ping_allow": opts.ping_allow,
        "routing": opts.routing,
    }
    digest = shards.run_digest(
        results_depend_on,
        [inv.hosts[n] for n in names if n in inv.hosts],
        [(u.name, u.platform, u.reason) for u in chosen.skipped],
    )
    return chosen, Shard.of(names, opts.shard, digest)


def jobs(
    opts: FleetOptions,
    inv: Inventory,
    chosen: Selection | None = None,
    shard: Shard | None = None,
) -> list[Job]:
    """One Job per managed host of `chosen` (default: the selection), only those of
    `shard` if given; renders every template first, and lets a driver that renders at
    apply time check its templates (TemplateError: exit 2). UsageError when --limit names
    a host loopbackctl does not manage."""
    env = render.environment(opts.templates)
    templates = Templates(opts.templates, env)
    if chosen is None:
        chosen, shard = selection(opts, inv)
    allow = pinger.allow_list(opts.ping_allow) if opts.reachability else pinger.DEFAULT_ALLOW
    hosts = list(chosen.hosts)
    # A runtime that cannot load: exit 2 here, nobody contacted. Routing targets come
    # from the whole run, in a shard too.
    meshed = [h for h in hosts if isinstance(platforms.driver(h.platform), Meshing)]
    mine = hosts if shard is None else [h for h in hosts if h.name in shard.members]
    locking = opts.mode == "apply" and not opts.check
    lock_dir = opts.lock_dir or locks.DEFAULT_LOCK_DIR
    if locking and any(locks.uses_dir(platforms.driver(h.platform)) for h in mine):
        locks.check_dir(lock_dir)
    who = locks.holder() if locking else None
    out = []
    for host in mine:
        driver = platforms.driver(host.platform)
        artifacts = render.render_host(env, host)
        if isinstance(driver, ChecksTemplates):
            driver.check_templates(host, templates.for_host(host, artifacts))
        out.append(
            Job(
                host=host,
                mode=opts.mode,
                options=connect_options(opts, host),
                artifacts=artifacts,
                templates=templates,
                check=opts.check,
                purge=opts.purge,
                save=opts.save,
                confirm_timeout=opts.confirm_timeout if opts.mode == "apply" else None,
                reachability=opts.reachability,
                ping_allow=allow,
                routing=routing.targets(meshed, host.name) if opts.routing else None,
                lock_holder=who,
                lock_dir=lock_dir,
                allow_management_change=opts.allow_management_change,
            )
        )
    return out


def _refuse_named(chosen: Selection) -> None:
    named = [u for u in chosen.skipped if u.name in chosen.named]
    if named:
        which = "; ".join(f"{u.name}: {u.reason}" for u in named)
        raise UsageError(
            f"--limit names a host loopbackctl does not manage ({which}); it drives"
            f" {platforms.supported()}: leave it out (a group or glob that reaches it"
            " skips it)"
        )


def skipped(
    opts: FleetOptions,
    inv: Inventory,
    chosen: Selection | None = None,
    shard: Shard | None = None,
) -> list[HostResult]:
    """A `skipped` result for each host of `chosen` (default: the selection; only those
    of `shard` if given) loopbackctl does not manage."""
    if chosen is None:
        chosen = pick(inv, opts.limit)
    return [
        HostResult(u.name, u.platform or "-", "skipped", error=f"not managed: {u.reason}")
        for u in chosen.skipped
        if shard is None or u.name in shard.members
    ]


def in_order(inv: Inventory, results: list[HostResult]) -> list[HostResult]:
    """`results` in inventory order."""
    position = {name: i for i, name in enumerate(inv.names)}
    return sorted(results, key=lambda r: position.get(r.name, len(position)))


def workers(opts: FleetOptions, hosts: int) -> int:
    """How many hosts at once, in all processes: --workers (or the default), at most one
    per host."""
    return max(1, min(opts.workers or DEFAULT_WORKERS, hosts))


# By default a run forks one process per core when it has at least two processes' worth of
# devices with heavy sessions, this many each. Measured (bench/bench_ios_fleet.py, simulated
# IOS routers, verify, 16 workers, 2 cores, median s, one process → two): 4 routers 0.18 →
# 0.15, 8 routers 0.39 → 0.21, 16 0.82 → 0.36, 50 2.45 → 0.90. One process's threads share
# one GIL, and its CPU per router grows with them (25 ms at 1 worker, 55 ms at 16: GIL
# hand-offs). Linux hosts gain nothing (bench/bench_linux_fleet.py --processes 2, 100
# hosts: 1.91 → 2.15 s; there the hosts' sshd fill the cores).
HEAVY_PER_PROCESS = 4


def processes(opts: FleetOptions, todo: list[Job], workers: int) -> int:
    """--processes if given; else one per core this process may use, at most one per
    HEAVY_PER_PROCESS heavy-session hosts (Platform.heavy_sessions) and one per worker,
    and 1 below two processes' worth or when this process already runs other threads (a
    fork copies only the calling thread: a lock another one holds stays held in the
    child)."""
    if opts.processes is not None:
        return opts.processes
    heavy = sum(
        1
        for j in todo
        if j.options.transport == "ssh"
        and (p := platforms.lookup(j.host.platform)) is not None
        and p.heavy_sessions
    )
    if heavy < 2 * HEAVY_PER_PROCESS or threading.active_count() > 1:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), workers, heavy // HEAVY_PER_PROCESS))


def fd_cap(free_descriptors: int | None, processes: int = 1) -> int | None:
    """The most workers (in all `processes`) that `free_descriptors` per process allow;
    None: no limit."""
    if free_descriptors is None:
        return None
    return max(1, (free_descriptors - FDS_RESERVED) // FDS_PER_WORKER) * max(1, processes)


def _preload(todo: list[Job]) -> None:
    for syntax in {p.config for j in todo if (p := platforms.lookup(j.host.platform)) and p.config}:
        remediation.preload(syntax)


class Started:
    """A run whose processes (if any) are forked; `wait` runs it to the end."""

    def __init__(self, todo: list[Job], opts: FleetOptions, cancel: threading.Event) -> None:
        self.todo, self.opts, self.cancel = todo, opts, cancel
        self.flight = InFlight()  # the hosts in flight, in any process
        self.workers = workers(opts, len(todo))
        self.processes = processes(opts, todo, self.workers)
        self.pool: Pool | None = None
        if len(todo) > 1 and any(j.options.transport == "ssh" for j in todo):
            # netmiko's modules import each other in a cycle: two workers importing it for
            # the first time at once (a Linux host's shell, an IOS router's CLI) may each
            # get the other's half-initialised module (ImportError: cannot import name
            # 'Channel'). Every SSH session needs it: import it once, here, before the
            # pool starts (and before any fork, so every process has it).
            import loopbackctl.transport.ssh  # noqa: F401
        if self.processes > 1 and len(todo) > 1:
            from loopbackctl.procs import Pool

            # Each process preloads for itself: a fork while the preloading thread holds
            # the import lock would leave the child a half-imported module.
            self.pool = Pool(
                todo, self.processes, self.workers, cancel, lambda: _preload(todo), self.flight
            )
        else:
            _preload(todo)

    def wait(self, on_result: Callable[[HostResult], None] | None = None) -> list[HostResult]:
        """Every host's result in job order, with the fleet-wide checks (deferred to the
        merge in a shard: see loopbackctl.shards)."""
        if self.pool is not None:
            results = self.pool.wait(on_result)
        else:
            results = run_fleet(self.todo, self.workers, self.cancel, on_result, self.flight)
        if self.opts.shard is not None:
            shards.defer_fleet_checks(results)
            return results
        check_router_ids(results)
        if self.opts.routing:
            routing.collision_checks(results)
        return results


def start(todo: list[Job], opts: FleetOptions, cancel: threading.Event | None = None) -> Started:
    """Fork the --processes now, before the caller starts any thread (progress bar)."""
    return Started(todo, opts, cancel or threading.Event())


def run(
    todo: list[Job],
    opts: FleetOptions,
    cancel: threading.Event | None = None,
    on_result: Callable[[HostResult], None] | None = None,
) -> list[HostResult]:
    """Run `todo` on the worker pool, then the fleet-wide checks; results in job order."""
    return start(todo, opts, cancel).wait(on_result)

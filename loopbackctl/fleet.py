"""Fleet runs over SSH: `apply` and `verify` for the hosts a --limit selects.

Everything that can fail without a device (selection, templates, unknown platform, a
--limit that names a host loopbackctl does not manage) fails in `jobs`, before any host
is contacted (UsageError: exit 2). Hosts the selection reaches through a group or a glob
that loopbackctl does not manage are `skipped` results. Nothing here prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loopbackctl import platforms, remediation, render, routing
from loopbackctl.errors import UsageError
from loopbackctl.model import Host, Inventory
from loopbackctl.platforms.base import ChecksTemplates, Meshing
from loopbackctl.result import HostResult
from loopbackctl.runner import Job, Mode, check_router_ids, run_fleet
from loopbackctl.select import Selection, pick
from loopbackctl.templating import Templates
from loopbackctl.transport import ping as pinger
from loopbackctl.transport.options import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_KNOWN_HOSTS,
    ConnectOptions,
    HostKeyMode,
)
from loopbackctl.values import number

# Measured with bench/bench_linux_fleet.py --sweep (100 namespace hosts, 2 cores; verify,
# median s): 5 workers 2.97, 10 2.01, 16 1.74, 20 1.68, 30 1.78, 50 1.70. The curve is flat
# from 16 on: the hosts' sshd handshakes saturate the CPU, and more workers only add
# concurrent logins (which AAA servers and jump hosts of real fleets feel first). Fleets
# far away are latency-bound: raise --workers there.
DEFAULT_WORKERS = 16


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


def jobs(opts: FleetOptions, inv: Inventory) -> list[Job]:
    """One Job per selected managed host; renders every template first, and lets a driver
    that renders at apply time check its templates (TemplateError: exit 2). UsageError
    when --limit names a host loopbackctl does not manage."""
    env = render.environment(opts.templates)
    templates = Templates(opts.templates, env)
    chosen = pick(inv, opts.limit)
    _refuse_named(chosen)
    allow = pinger.allow_list(opts.ping_allow) if opts.reachability else pinger.DEFAULT_ALLOW
    hosts = list(chosen.hosts)
    # A runtime that cannot load: exit 2 here, nobody contacted.
    meshed = [h for h in hosts if isinstance(platforms.driver(h.platform), Meshing)]
    out = []
    for host in hosts:
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
                reachability=opts.reachability,
                ping_allow=allow,
                routing=routing.targets(meshed, host.name) if opts.routing else None,
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


def skipped(opts: FleetOptions, inv: Inventory) -> list[HostResult]:
    """A `skipped` result for each selected host loopbackctl does not manage."""
    return [
        HostResult(u.name, u.platform or "-", "skipped", error=f"not managed: {u.reason}")
        for u in pick(inv, opts.limit).skipped
    ]


def in_order(inv: Inventory, results: list[HostResult]) -> list[HostResult]:
    """`results` in inventory order."""
    position = {name: i for i, name in enumerate(inv.names)}
    return sorted(results, key=lambda r: position.get(r.name, len(position)))


def run(
    todo: list[Job],
    opts: FleetOptions,
    cancel: threading.Event | None = None,
    on_result: Callable[[HostResult], None] | None = None,
) -> list[HostResult]:
    """Run `todo` on the worker pool, then the fleet-wide checks; results in job order."""
    workers = min(opts.workers or DEFAULT_WORKERS, max(1, len(todo)))
    for syntax in {p.config for j in todo if (p := platforms.lookup(j.host.platform)) and p.config}:
        remediation.preload(syntax)
    if len(todo) > 1 and any(j.options.transport == "ssh" for j in todo):
        # netmiko's modules import each other in a cycle: two workers importing it for the
        # first time at once (a Linux host's shell, an IOS router's CLI) may each get the
        # other's half-initialised module (ImportError: cannot import name 'Channel').
        # Every SSH session needs it: import it once, here, before the pool starts.
        import loopbackctl.transport.ssh  # noqa: F401
    results = run_fleet(todo, workers, cancel, on_result)
    check_router_ids(results)
    if opts.routing:
        routing.collision_checks(results)
    return results

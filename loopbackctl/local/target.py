"""Which inventory host is this machine, and what it declares for lo.

The rule, first match wins:
1. `--local-host NAME`: that host (an error when the inventory has none of that name);
2. the one host with `data: {local: true}` (an error when several have it);
3. the host whose name is this machine's short hostname;
4. none: only 127.0.0.1/8 and ::1/128 are expected.

The inventory is read only when one is named (-i or $LOOPBACKCTL_INVENTORY) or ./inventory
exists; without one, local mode needs none. An inventory with errors exits 2 as always.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from loopbackctl.errors import UsageError
from loopbackctl.local.checks import Expected

if TYPE_CHECKING:
    from loopbackctl.model import Host

# inventory.ENV_INVENTORY, not imported from there: that module pulls in yaml (~25 ms).
ENV_INVENTORY = "LOOPBACKCTL_INVENTORY"


def short_hostname() -> str:
    return socket.gethostname().split(".", 1)[0]


def choose(
    hosts: Mapping[str, Host], local_host: str | None, hostname: str, source: str
) -> tuple[Host | None, str]:
    """(host, how it was chosen) by the rule above; UsageError for a bad --local-host."""
    if local_host is not None:
        if local_host not in hosts:
            raise UsageError(f"--local-host {local_host}: the inventory {source} has no such host")
        return hosts[local_host], f"inventory host {local_host} (--local-host)"
    marked = [h for h in hosts.values() if h.data.get("local") is True]
    if len(marked) > 1:
        names = ", ".join(h.name for h in marked)
        raise UsageError(
            f"hosts {names} all set data.local: true in {source}; keep it on one,"
            " or pick one with --local-host"
        )
    if marked:
        return marked[0], f"inventory host {marked[0].name} (data.local: true)"
    if hostname in hosts:
        return hosts[hostname], f"inventory host {hostname} (named like this machine)"
    return None, (
        f"no host in {source} is this machine (none has data.local: true or is named"
        f" {hostname!r}; --local-host NAME picks one)"
    )


def expected_for(host: Host | None, how: str) -> Expected:
    """The addresses a chosen host declares on lo; UsageError when it is not a Linux host."""
    if host is None:
        return Expected(None, how)
    if host.platform != "linux":
        raise UsageError(
            f"inventory host {host.name} is {host.platform}; local mode manages a Linux lo,"
            " so pick a linux host with --local-host or data.local: true"
        )
    addrs = [a for lb in host.loopbacks if lb.name == "lo" for a in lb.addresses]
    absent = [a for lb in host.loopbacks if lb.name == "lo" for a in lb.absent_addresses]
    return Expected(host.name, how, tuple(dict.fromkeys(addrs)), tuple(dict.fromkeys(absent)))


def resolve(explicit: str | None, local_host: str | None) -> Expected:
    """Load the inventory if there is one and pick this machine's host (rule above)."""
    path = explicit or os.environ.get(ENV_INVENTORY)
    if path is None:
        if not os.path.exists("inventory"):
            if local_host is not None:
                raise UsageError(
                    f"--local-host {local_host} needs an inventory, and there is none at"
                    " ./inventory; pass -i PATH"
                )
            return Expected(None, "no inventory (none at ./inventory, no -i)")
        path = "inventory"
    from loopbackctl import inventory

    inv, warnings = inventory.load(path)
    for w in warnings:
        print(w, file=sys.stderr)
    host, how = choose(inv.hosts, local_host, short_hostname(), path)
    return expected_for(host, how)

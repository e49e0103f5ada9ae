"""Which inventory host is this machine, and the Host local mode manages: this machine's
lo with what that inventory host declares for it.

The rule, first match wins:
1. `--local-host NAME`: that host (an error when the inventory has none of that name);
2. the one host with `data: {local: true}` (an error when several have it);
3. the host whose name is this machine's short hostname;
4. none: only 127.0.0.1/8 and ::1/128 are expected.
The chosen host must be of a platform whose loopback is this machine's (Platform.local).

The inventory is read only when one is named (-i or $LOOPBACKCTL_INVENTORY) or ./inventory
exists; without one, local mode needs none. An inventory with errors exits 2 as always.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from loopbackctl import platforms
from loopbackctl.errors import UsageError
from loopbackctl.model import Host, Loopback

# inventory.ENV_INVENTORY, not imported from there: that module pulls in yaml (~25 ms).
ENV_INVENTORY = "LOOPBACKCTL_INVENTORY"
LO = "lo"


@dataclass(frozen=True)
class Target:
    """What local mode manages. `host`: this machine as the runner sees it (its lo with
    the inventory's addresses); `inventory_host`: the inventory host standing for this
    machine (None: none does); `how`: in words, how it was chosen or why there is none."""

    host: Host
    inventory_host: str | None
    how: str

    @property
    def extra(self) -> int:
        """How many addresses the inventory adds on lo."""
        return sum(len(lb.addresses) for lb in self.host.loopbacks)


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
    marked = [h for h in hosts.values() if h.settings.get("local") is True]
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


def local_host(name: str, chosen: Host | None) -> Host:
    """This machine as a Host named `name`: lo with the addresses (and absent_addresses)
    `chosen` declares for it; UsageError when `chosen` is of a platform local mode cannot
    manage."""
    local = [p for p in platforms.PLATFORMS.values() if p.local]
    if chosen is None:
        return Host(name=name, platform=local[0].name, loopbacks=(Loopback(LO),))
    platform = platforms.lookup(chosen.platform)
    if platform is None or not platform.local:
        kinds = " or ".join(p.name for p in local)
        raise UsageError(
            f"inventory host {chosen.name} is {chosen.platform}; local mode manages this"
            f" machine's lo, so pick a {kinds} host with --local-host or data.local: true"
        )
    addrs = [a for lb in chosen.loopbacks if lb.name == LO for a in lb.addresses]
    absent = [a for lb in chosen.loopbacks if lb.name == LO for a in lb.absent_addresses]
    lo = Loopback(LO, tuple(dict.fromkeys(addrs)), absent_addresses=tuple(dict.fromkeys(absent)))
    return Host(name=name, platform=platform.name, loopbacks=(lo,))


def resolve(explicit: str | None, local_host_name: str | None, name: str) -> Target:
    """Load the inventory if there is one, pick this machine's host (rule above), and
    build the Host called `name` that local mode manages."""
    path = explicit or os.environ.get(ENV_INVENTORY)
    if path is None:
        if not os.path.exists("inventory"):
            if local_host_name is not None:
                raise UsageError(
                    f"--local-host {local_host_name} needs an inventory, and there is none at"
                    " ./inventory; pass -i PATH"
                )
            how = "no inventory (none at ./inventory, no -i)"
            return Target(local_host(name, None), None, how)
        path = "inventory"
    from loopbackctl import inventory

    inv, warnings = inventory.load(path)
    for w in warnings:
        print(w, file=sys.stderr)
    chosen, how = choose(inv.hosts, local_host_name, short_hostname(), path)
    return Target(local_host(name, chosen), chosen.name if chosen else None, how)

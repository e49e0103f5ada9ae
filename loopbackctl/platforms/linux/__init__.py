"""Linux: the one loopback `lo`, changed with iproute2, persisted with netplan."""

from __future__ import annotations

import ipaddress
import re

from loopbackctl.plan import Policy
from loopbackctl.platforms.base import Platform

# The kernel's own addresses on lo: every local service depends on them.
PROTECTED = frozenset({ipaddress.ip_interface("127.0.0.1/8"), ipaddress.ip_interface("::1/128")})

PLATFORM = Platform(
    name="linux",
    title="Linux",
    interface_pattern=re.compile(r"lo"),
    interface_hint="a Linux host has one loopback, named lo",
    interface_example="lo",
    # Addresses on lo that the inventory does not name are left alone unless purged.
    policy=Policy(owns_interface=False, primary=False, protected=PROTECTED),
    driver="loopbackctl.platforms.linux.driver:LinuxDriver",
    templates=(("iproute2", "linux/iproute2.j2"), ("netplan", "linux/netplan.yaml.j2")),
)

"""Linux: the one loopback `lo`, changed with iproute2, persisted with netplan."""

from __future__ import annotations

import ipaddress
import re

from loopbackctl.model import IPInterface
from loopbackctl.plan import Policy
from loopbackctl.platforms.base import Platform

# The kernel's own addresses on lo: every local service depends on them. They are never
# removed, and expected on every lo loopbackctl manages (::1 only while IPv6 is enabled).
LOOPBACK4 = ipaddress.IPv4Interface("127.0.0.1/8")
LOOPBACK6 = ipaddress.IPv6Interface("::1/128")
PROTECTED: frozenset[IPInterface] = frozenset({LOOPBACK4, LOOPBACK6})

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
    local=True,
)

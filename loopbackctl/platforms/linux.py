"""Linux: `lo` managed with iproute2, persisted with netplan."""

from __future__ import annotations

import re

from loopbackctl.platforms import Rules

RULES = Rules(
    name="linux",
    interface_pattern=re.compile(r"lo"),
    interface_hint="a Linux host has one loopback, named lo",
    router=False,
    max_description=None,
    templates=(("iproute2", "linux/iproute2.j2"), ("netplan", "linux/netplan.yaml.j2")),
)

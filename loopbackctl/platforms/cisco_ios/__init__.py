"""Cisco IOS: `interface LoopbackN`, read with show commands and the running configuration,
changed with the remediation of the rendered template."""

from __future__ import annotations

import re

from loopbackctl.plan import Policy
from loopbackctl.platforms.base import Platform
from loopbackctl.platforms.cisco_ios.quirks import CONFIG_SYNTAX

# IOS numbers loopbacks 0..2147483647; descriptions are cut at 240 characters, '?' is
# taken by the CLI as a help request even inside a description, and non-ASCII text is
# stored mangled (verify would then always differ).
PLATFORM = Platform(
    name="cisco_ios",
    # NAPALM's name for IOS and IOS-XE (napalm-ios drives both).
    aliases=("ios",),
    title="IOS",
    interface_pattern=re.compile(r"Loopback(0|[1-9][0-9]{0,9})"),
    interface_hint="IOS loopbacks are named Loopback0 to Loopback2147483647",
    interface_example="Loopback{n}",
    # A named loopback is owned whole: addresses the inventory does not name are removed.
    # IOS has one primary IPv4 address per interface; the others are `secondary`.
    policy=Policy(owns_interface=True, primary=True),
    driver="loopbackctl.platforms.cisco_ios.driver:IosDriver",
    templates=(("config", "cisco_ios/loopbacks.j2"),),
    max_interface_number=2147483647,
    descriptions=True,
    max_description=240,
    description_forbidden="?",
    description_ascii=True,
    shutdown=True,
    deletable=True,
    host_prefixes=True,
    reserved_addresses=True,
    router=True,
    vrfs=True,
    # Configuration-driven: what apply sends is the remediation of the running loopback
    # blocks against the rendered template (see quirks.CONFIG_SYNTAX).
    config=CONFIG_SYNTAX,
    # About 25 ms of the controller's CPU per verify (on the simulated routers: ~350 small
    # SSH packets, three TextFSM parses), against ~6 ms for a Linux host's `ip -j`.
    heavy_sessions=True,
)

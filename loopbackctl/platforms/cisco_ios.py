"""Cisco IOS: `interface LoopbackN`."""

from __future__ import annotations

import re

from loopbackctl.platforms import Rules

# IOS numbers loopbacks 0..2147483647; descriptions are cut at 240 characters and '?'
# is taken by the CLI as a help request, even inside a description.
RULES = Rules(
    name="cisco_ios",
    interface_pattern=re.compile(r"Loopback(0|[1-9][0-9]{0,9})"),
    interface_hint="IOS loopbacks are named Loopback0 to Loopback2147483647",
    router=True,
    max_description=240,
    forbidden_description_chars="?",
    max_interface_number=2147483647,
    templates=(("config", "cisco_ios/loopbacks.j2"),),
)

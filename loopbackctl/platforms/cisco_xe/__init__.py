"""Cisco IOS-XE: the IOS platform with netmiko's `cisco_xe` session. Its loopbacks, show
commands, running configuration and template are IOS's (real IOS-XE outputs of every show
command the driver sends are read by the same parsers: tests/test_ios_xe.py); only the
label differs."""

from __future__ import annotations

import dataclasses

from loopbackctl.platforms.base import Platform
from loopbackctl.platforms.cisco_ios import PLATFORM as IOS

PLATFORM: Platform = dataclasses.replace(
    IOS,
    name="cisco_xe",
    title="IOS-XE",
    # NAPALM's `ios` names IOS and IOS-XE alike: it stays cisco_ios's. A host written
    # `platform: ios` runs as cisco_xe through `connection_options.netmiko.platform`.
    aliases=(),
    driver="loopbackctl.platforms.cisco_ios.driver:IosXeDriver",
    # The same configuration language: IOS's template serves both (one override for both).
    templates=IOS.templates,
)

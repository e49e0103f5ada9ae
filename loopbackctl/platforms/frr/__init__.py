"""FRRouting routers: the addresses of `lo`, configured in zebra through vtysh (so that
`write memory` keeps them in frr.conf), read back from zebra and the kernel; and the
routing truth of verify --routing (router-ids, the mesh)."""

from __future__ import annotations

import re

from loopbackctl.plan import Policy
from loopbackctl.platforms.base import Platform
from loopbackctl.platforms.frr.quirks import CONFIG_SYNTAX, PROTECTED

PLATFORM = Platform(
    name="frr",
    title="FRR",
    interface_pattern=re.compile(r"lo"),
    interface_hint="an FRR router's loopback is lo (its addresses are configured in zebra)",
    interface_example="lo",
    # As on Linux: addresses on lo that the inventory does not name are left alone unless
    # purged, and the kernel's 127.0.0.1/8 and ::1/128 are never touched.
    policy=Policy(owns_interface=False, primary=False, protected=PROTECTED),
    driver="loopbackctl.platforms.frr.driver:FrrDriver",
    templates=(("config", "frr/loopbacks.j2"),),
    host_prefixes=True,
    reserved_addresses=True,
    router=True,
    # Configuration-driven: apply sends the remediation of the running `interface lo`
    # block against the rendered template (see quirks.CONFIG_SYNTAX).
    config=CONFIG_SYNTAX,
)

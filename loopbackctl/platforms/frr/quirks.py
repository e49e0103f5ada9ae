"""How FRRouting (8.x, vtysh) talks, as data: the commands loopbackctl sends, how a
refusal looks, and how the running configuration differs from what a template writes.

vtysh runs each `-c` line in turn and stops at the first one a daemon refuses: it prints
`% ...` (`% Unknown command: ...`, `% Invalid address`, `% Can't find address`) and exits
1. A daemon that is down is named (`bgpd is not running`), also with exit 1.
"""

from __future__ import annotations

import ipaddress
import re

from loopbackctl.remediation import ConfigSyntax, Normalisation

VTYSH = "vtysh"
LO = "lo"

# The kernel's own addresses on lo: zebra neither shows nor configures them, and
# loopbackctl never touches them.
PROTECTED = frozenset({ipaddress.ip_interface("127.0.0.1/8"), ipaddress.ip_interface("::1/128")})

# One vtysh call reads zebra's lo and the running configuration: the JSON object first,
# then the text (which ends with `end`).
SHOW_LO = "show interface lo json"
SHOW_RUNNING = "show running-config"
READ_KERNEL = "ip -j addr show dev lo"
SHOW_OSPF = "show ip ospf vrf all json"
SHOW_OSPF6 = "show ipv6 ospf6 vrf all json"
# `show bgp summary json` has no router-id for a VRF without peers; this names every
# BGP instance's router-id, peers or not.
SHOW_BGP = "show bgp vrfs json"
SHOW_ROUTE = {4: "show ip route {prefix} json", 6: "show ipv6 route {prefix} json"}
WRITE_MEMORY = "write memory"
# `write memory` ends with this line once frr.conf holds the configuration.
WRITE_OK = "[OK]"

# A refusal: a line vtysh prints starting with `% `, or a daemon that is not running.
REFUSAL = re.compile(r"^(?:% .*|\S+ is not running)$")
# vtysh keeps each command line short; a change longer than this goes in several calls.
MAX_CALL = 2500

# Lines of `interface lo` that loopbackctl owns: its addresses. Every other line of the
# block (`ip ospf area 0`, `description`, `link-params`...) belongs to the routing
# configuration and is kept as the router has it.
OWNED = re.compile(r"^(?:ip|ipv6) address (?P<addr>\S+)(?:\s|$)")

NORMALISATIONS: tuple[Normalisation, ...] = (
    Normalisation(
        "IPv6 lower case",
        "FRR prints IPv6 addresses lower-case and compressed, whatever form was typed",
        re.compile(r"^(?:no )?ipv6 address (?P<addr>[0-9A-Fa-f:.]+/\d+)(?=\s|$)"),
        "ipv6",
    ),
)

CONFIG_SYNTAX = ConfigSyntax(
    # hier_config has no FRR driver; FRR's interface blocks are plain `no`-negated lines,
    # which its generic driver remediates as they are.
    hier_platform="GENERIC",
    opener="interface {name}",
    block=re.compile(r"interface (?P<name>lo)"),
    # Never rendered (lo cannot be deleted: the platform is not `deletable`).
    delete="no interface {name}",
    delete_pattern=re.compile(r"no interface (?P<name>lo)"),
    indent=" ",
    normalise=NORMALISATIONS,
    # FRR 8 prints `exit` after each block, in frr.conf and `show running-config`.
    closer="exit",
)

# What makes a routing daemon take a newly configured router-id (never sent by
# loopbackctl: it resets every adjacency of the process). bgpd takes a configured
# `bgp router-id` at once (resetting its sessions itself).
CLEAR = {"ospf": "clear ip ospf process", "ospf6": "clear ipv6 ospf6 process"}
# The configuration line that sets each protocol's router-id, under its `router` block.
ROUTER_ID_LINE = {"ospf": "ospf router-id", "ospf6": "ospf6 router-id", "bgp": "bgp router-id"}

"""Show command output in real IOS layouts (copied from ntc-templates' raw IOS samples).

Pure functions: router state in, list of lines out (no trailing newline). Layout sources:
``show ip interface`` Loopback0 block of cisco_ios_show_ip_interface.raw (secondary line
placed as in ..._interface2.raw); ``show interfaces`` Loopback0 of
cisco_ios_show_interfaces3.raw (trailing blanks included, as IOS prints them);
``show ip interface brief`` / ``show ipv6 interface brief`` column widths of their samples.
"""

from __future__ import annotations

import hashlib

from fake_switches.switch_configuration import SwitchConfiguration

from .model import (
    SOURCE_NVRAM,
    RouterPort,
    format_mac,
    format_v6,
    link_local,
    port_mac,
    router_ports,
)

#: The interface lines kept as typed (see RouterPort.extras), in the order IOS prints them.
EXTRA_ORDER = ("ip pim", "ip ospf")

BRIEF_HEADER = (
    "Interface                  IP-Address      OK? Method Status                Protocol"
)


def show_ip_interface_brief(conf: SwitchConfiguration) -> list[str]:
    """``show ip interface brief``: one row per interface, primary address only."""
    lines = [BRIEF_HEADER]
    for port in router_ports(conf):
        address = str(port.primary.ip) if port.primary is not None else "unassigned"
        status, protocol = port.status
        lines.append(
            f"{port.name:<26} {address:<15} YES {port.address_source:<6} {status:<21} {protocol}"
        )
    return lines


def show_ipv6_interface_brief(
    hostname: str, conf: SwitchConfiguration, ports: list[RouterPort]
) -> list[str]:
    """``show ipv6 interface brief``: link-local first, then configured addresses."""
    lines = []
    for port in ports:
        status, protocol = port.status
        lines.append(f"{port.name:<22} [{status}/{protocol}]")
        if port.ipv6:
            lines.append("    " + link_local(port_mac(hostname, conf, port)))
            lines.extend("    " + format_v6(net).split("/")[0] for net in port.ipv6)
        else:
            lines.append("    unassigned")
    return lines


def show_ip_interface(ports: list[RouterPort]) -> list[str]:
    """``show ip interface [X]``: full per-interface block, or processing disabled."""
    lines: list[str] = []
    for port in ports:
        status, protocol = port.status
        lines.append(f"{port.name} is {status}, line protocol is {protocol}")
        primary = port.primary
        if primary is None:
            lines.append("  Internet protocol processing disabled")
            continue
        determined = (
            "non-volatile memory" if port.address_source == SOURCE_NVRAM else "setup command"
        )
        mtu = 1514 if port.is_loopback else 1500
        lines += [
            f"  Internet address is {primary.ip}/{primary.prefixlen}",
            "  Broadcast address is 255.255.255.255",
            f"  Address determined by {determined}",
            f"  MTU is {mtu} bytes",
            "  Helper address is not set",
            "  Directed broadcast forwarding is disabled",
        ]
        lines += [f"  Secondary address {ip.ip}/{ip.prefixlen}" for ip in port.secondaries]
        lines += [
            "  Outgoing Common access list is not set",
            "  Outgoing access list is not set",
            "  Inbound Common access list is not set",
            "  Inbound  access list is not set",
            "  Proxy ARP is enabled",
            "  Local Proxy ARP is disabled",
            "  Security level is default",
            "  Split horizon is enabled",
            "  ICMP redirects are always sent",
            "  ICMP unreachables are always sent",
            "  ICMP mask replies are never sent",
            "  IP fast switching is enabled",
            "  IP Flow switching is disabled",
            "  IP CEF switching is enabled",
            "  IP CEF switching turbo vector",
            "  IP Null turbo vector",
            *([f'  VPN Routing/Forwarding "{port.vrf}"'] if port.vrf else []),
            "  Associated unicast routing topologies:",
            f'        Topology "base", operation state is {"UP" if protocol == "up" else "DOWN"}',
            "  IP multicast fast switching is enabled",
            "  IP multicast distributed fast switching is disabled",
            "  IP route-cache flags are Fast, CEF",
            "  Router Discovery is disabled",
            "  IP output packet accounting is disabled",
            "  IP access violation accounting is disabled",
            "  TCP/IP header compression is disabled",
            "  RTP/IP header compression is disabled",
            "  Probe proxy name replies are disabled",
            "  Policy routing is disabled",
            "  Network address translation is disabled",
            "  BGP Policy Mapping is disabled",
            "  Input features: MCI Check",
            "  IPv4 WCCP Redirect outbound is disabled",
            "  IPv4 WCCP Redirect inbound is disabled",
            "  IPv4 WCCP Redirect exclude is disabled",
        ]
    return lines


def show_interfaces(hostname: str, conf: SwitchConfiguration, ports: list[RouterPort]) -> list[str]:
    """``show interfaces [X]``: Loopback and iGbE blocks with zero counters."""
    lines: list[str] = []
    for port in ports:
        status, protocol = port.status
        lines.append(f"{port.name} is {status}, line protocol is {protocol} ")
        if port.is_loopback:
            lines.append("  Hardware is Loopback")
        else:
            mac = format_mac(port_mac(hostname, conf, port))
            lines.append(f"  Hardware is iGbE, address is {mac} (bia {mac})")
        if port.description:
            lines.append(f"  Description: {port.description}")
        if port.primary is not None:
            lines.append(f"  Internet address is {port.primary.ip}/{port.primary.prefixlen}")
        if port.is_loopback:
            lines += [
                "  MTU 1514 bytes, BW 8000000 Kbit/sec, DLY 5000 usec, ",
                "     reliability 255/255, txload 1/255, rxload 1/255",
                "  Encapsulation LOOPBACK, loopback not set",
                "  Keepalive set (10 sec)",
            ]
        else:
            lines += [
                "  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec, ",
                "     reliability 255/255, txload 1/255, rxload 1/255",
                "  Encapsulation ARPA, loopback not set",
                "  Keepalive set (10 sec)",
                "  Full Duplex, Auto Speed, link type is auto, media type is RJ45",
                "  output flow-control is unsupported, input flow-control is unsupported",
                "  ARP type: ARPA, ARP Timeout 04:00:00",
            ]
        lines += [
            "  Last input never, output never, output hang never",
            '  Last clearing of "show interface" counters never',
            "  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0",
            "  Queueing strategy: fifo",
            f"  Output queue: 0/{0 if port.is_loopback else 40} (size/max)",
            "  5 minute input rate 0 bits/sec, 0 packets/sec",
            "  5 minute output rate 0 bits/sec, 0 packets/sec",
            "     0 packets input, 0 bytes, 0 no buffer",
            "     Received 0 broadcasts (0 IP multicasts)",
            "     0 runts, 0 giants, 0 throttles",
        ]
        if port.is_loopback:
            lines += [
                "     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored, 0 abort",
                "     0 packets output, 0 bytes, 0 underruns",
                "     0 output errors, 0 collisions, 0 interface resets",
                "     0 unknown protocol drops",
                "     0 output buffer failures, 0 output buffers swapped out",
            ]
        else:
            lines += [
                "     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored",
                "     0 watchdog, 0 multicast, 0 pause input",
                "     0 packets output, 0 bytes, 0 underruns",
                "     0 output errors, 0 collisions, 0 interface resets",
                "     0 unknown protocol drops",
                "     0 babbles, 0 late collision, 0 deferred",
                "     0 lost carrier, 0 no carrier, 0 pause output",
                "     0 output buffer failures, 0 output buffers swapped out",
            ]
    return lines


def interface_config(port: RouterPort) -> list[str]:
    """The ``interface X`` block of the running configuration (IOS line order)."""
    lines = [f"interface {port.name}"]
    if port.description:
        lines.append(f" description {port.description}")
    if port.vrf:
        lines.append(f" vrf forwarding {port.vrf}")
    if port.primary is None:
        lines.append(" no ip address")
    else:
        lines += [f" ip address {ip.ip} {ip.netmask} secondary" for ip in port.secondaries]
        lines.append(f" ip address {port.primary.ip} {port.primary.netmask}")
    # IOS prints the other `ip` interface lines after the addresses (pim before ospf).
    lines += [f" {port.extras[k]}" for k in EXTRA_ORDER if k in port.extras]
    if port.shutdown:
        lines.append(" shutdown")
    if not port.is_loopback:
        lines += [" duplex auto", " speed auto", " media-type rj45"]
    lines += [f" ipv6 address {format_v6(net)}" for net in port.ipv6]
    return lines


def _with_header(body: list[str]) -> list[str]:
    size = len("\n".join(body)) + 1
    return ["Building configuration...", "", f"Current configuration : {size} bytes", *body]


def show_running_config_interface(port: RouterPort) -> list[str]:
    """``show running-config interface X``; ends with ``end`` and a blank line like IOS."""
    return _with_header(["!", *interface_config(port), "end", ""])


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:22]


def vrf_config(vrfs: dict[str, list[str]]) -> list[str]:
    """``vrf definition`` blocks, as IOS prints them before the interfaces."""
    lines: list[str] = []
    for name in sorted(vrfs):
        lines.append(f"vrf definition {name}")
        for family in vrfs[name]:
            lines += [" !", f" address-family {family}", " exit-address-family"]
        lines.append("!")
    return lines


def running_config_body(
    hostname: str,
    conf: SwitchConfiguration,
    secret: str,
    users: dict[str, str],
    vrfs: dict[str, list[str]] | None = None,
    routers: list[str] | None = None,
) -> list[str]:
    """The configuration from the first ``!`` to ``end`` (what ``write memory`` stores);
    `routers`: the ``router`` blocks, printed after the interfaces as IOS does."""
    lines = [
        "!",
        "version 15.9",
        "service timestamps debug datetime msec",
        "service timestamps log datetime msec",
        "no service password-encryption",
        "!",
        f"hostname {hostname}",
        "!",
        "boot-start-marker",
        "boot-end-marker",
        "!",
        f"enable secret 5 $1$ios${_hash(secret)}",
        "!",
        "no aaa new-model",
        "!",
        *vrf_config(vrfs or {}),
        "no ip domain lookup",
        "ip cef",
        "ipv6 unicast-routing",
        "ipv6 cef",
        "!",
    ]
    lines += [
        f"username {user} privilege 15 secret 5 $1$ios${_hash(password)}"
        for user, password in sorted(users.items())
    ]
    lines.append("!")
    ports = router_ports(conf)
    ordered = [p for p in ports if p.is_loopback] + [p for p in ports if not p.is_loopback]
    for port in ordered:
        lines += [*interface_config(port), "!"]
    lines += routers or []
    lines += [
        "ip forward-protocol nd",
        "!",
        "no ip http server",
        "no ip http secure-server",
        "!",
        "control-plane",
        "!",
        "line con 0",
        "line aux 0",
        "line vty 0 4",
        " login local",
        " transport input ssh",
        "!",
        "end",
    ]
    return lines


def show_running_config(body: list[str]) -> list[str]:
    """``show running-config``."""
    return _with_header([*body, ""])


def show_startup_config(body: list[str]) -> list[str]:
    """``show startup-config``."""
    size = len("\n".join(body)) + 1
    return [f"Using {size} out of 262144 bytes", *body, ""]

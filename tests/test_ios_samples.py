"""Every real IOS and IOS-XE output in tests/data/ios-samples, for each command the IOS
driver sends: read exactly (interface count and loopbacks), or refused with ParseError.

Each output is parsed as netmiko would hand it over (tests.samples.as_netmiko_returns
drops a command echo or trailing prompt a capture kept). The expectations were checked,
interface by interface, against the parse each sample's own project expects (ntc-templates'
`.yml`, genieparser's `_expected.py` at the same commit). REFUSED marks captures whose
layout is not what IOS prints (detail lines moved to column 0, a whole capture indented
inside a Python string): refusing them is the fail-closed answer.
"""

from __future__ import annotations

import ipaddress
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loopbackctl.platforms.cisco_ios import parse as p
from tests.samples import IOS_SAMPLES, as_netmiko_returns, ios_samples, sample_id

REFUSED = "refused"
COLUMN_0 = REFUSED + ": detail lines at column 0, where IOS indents them"
INDENTED = REFUSED + ": the whole capture indented (kept inside a Python string)"


# (interfaces read, {loopback: its IPv4 addresses})
SHOW_IP_INTERFACE: dict[str, Any] = {
    "genieparser/ios/golden_output_2_output.txt": (
        20,
        {"Loopback0": ("10.38.2.9/32",), "Loopback1": ("172.16.219.118/32",)},
    ),
    "genieparser/ios/golden_output_output.txt": (3, {}),
    "genieparser/iosxe/golden_interface_output_output.txt": COLUMN_0,
    "genieparser/iosxe/golden_output2_output.txt": COLUMN_0,
    "genieparser/iosxe/golden_output3_output.txt": (3, {}),
    "genieparser/iosxe/golden_output4_output.txt": (1, {}),
    "genieparser/iosxe/golden_output5_output.txt": (1, {}),
    "genieparser/iosxe/golden_output6_output.txt": (1, {}),
    "genieparser/iosxe/golden_output7_output.txt": (4, {}),
    "genieparser/iosxe/golden_output_first_line_show_command_with_ip_in_host_name_output.txt": (
        COLUMN_0
    ),
    "genieparser/iosxe/golden_output_helper_output.txt": COLUMN_0,
    "genieparser/iosxe/golden_output_output.txt": COLUMN_0,
    "genieparser/iosxe/golden_output_reserved_multicast_forms_output.txt": (4, {}),
    "genieparser/iosxe/test_show_interface.py-golden_output5.txt": (
        21,
        {
            "Loopback0": ("10.1.1.188/32",),
            "Loopback1": ("172.16.186.198/32",),
            "Loopback2": ("172.16.186.199/32",),
        },
    ),
    "napalm/ios/test_get_interfaces_ip-normal.txt": (5, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_ip_interface.raw": (
        83,
        {
            "Loopback0": ("88.16.255.249/32",),
            "Loopback1": ("88.16.255.1/32",),
            "Loopback505": ("192.168.100.100/32",),
            "Loopback506": ("192.168.200.100/32",),
            "Loopback1001": ("172.18.0.24/32",),
            "Loopback5999": ("172.22.255.255/32",),
            "Loopback12345": ("88.16.245.1/32",),
        },
    ),
    "ntc-templates/cisco_ios/cisco_ios_show_ip_interface2.raw": (
        9,
        {"Loopback0": ("10.255.255.1/32",)},
    ),
    "ntc-templates/cisco_ios/cisco_ios_show_ip_interface3.raw": (
        1,
        {"Loopback1001": ("10.0.0.0/32",)},
    ),
    "ntc-templates/cisco_ios/cisco_ios_show_ip_interface4.raw": (
        4,
        {"Loopback0": ("10.0.0.0/32",)},
    ),
    "ntc-templates/cisco_ios/cisco_ios_show_ip_interface5.raw": (1, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_ip_interface6.raw": (2, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_ip_interface7.raw": (4, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_ip_interface8.raw": (5, {}),
}

# (interfaces read, {loopback: its description})
SHOW_INTERFACES: dict[str, Any] = {
    "genielibs/iosxe/get_interface_without_service_policy.txt": (
        37,
        {"Loopback0": None, "Loopback300": None},
    ),
    "genieparser/ios/golden_output_2_output.txt": (3, {}),
    "genieparser/ios/golden_output_output.txt": (4, {"Loopback1": None}),
    "genieparser/iosxe/golden_interface_output_10_output.txt": (5, {}),
    "genieparser/iosxe/golden_interface_output_11_output.txt": (5, {}),
    "genieparser/iosxe/golden_interface_output_12_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_13_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_14_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_15_output.txt": (4, {}),
    "genieparser/iosxe/golden_interface_output_16_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_1_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_2_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_3_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_4_output.txt": (3, {}),
    "genieparser/iosxe/golden_interface_output_5_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_6_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_7_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_8_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_9_output.txt": (1, {}),
    "genieparser/iosxe/golden_interface_output_output.txt": (1, {}),
    "genieparser/iosxe/golden_output2_output.txt": (
        148,
        {"Loopback1": None, "Loopback10": None, "Loopback101": None, "Loopback102": None},
    ),
    "genieparser/iosxe/golden_output3_output.txt": (1, {}),
    "genieparser/iosxe/golden_output4_output.txt": (2, {}),
    "genieparser/iosxe/golden_output_1_output.txt": (9, {"Loopback50998": None}),
    "genieparser/iosxe/golden_output_2_output.txt": (4, {}),
    "genieparser/iosxe/golden_output_3_output.txt": (2, {}),
    "genieparser/iosxe/golden_output_5_output.txt": (84, {}),
    "genieparser/iosxe/golden_output_6_output.txt": (10, {}),
    "genieparser/iosxe/golden_output_7_output.txt": (1, {}),
    "genieparser/iosxe/golden_output_output.txt": (7, {"Loopback0": None}),
    "napalm/ios/test_get_interfaces-control-plane-interface.txt": (1, {}),
    "napalm/ios/test_get_interfaces-normal.txt": (4, {}),
    "napalm/ios/test_get_interfaces-pseudowire.txt": (1, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_interfaces.raw": (9, {"Loopback0": "Loopback"}),
    "ntc-templates/cisco_ios/cisco_ios_show_interfaces2.raw": (56, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_interfaces3.raw": (
        14,
        {"Loopback0": "Loopback Interface"},
    ),
    "ntc-templates/cisco_ios/cisco_ios_show_interfaces4.raw": (16, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_interfaces5.raw": (2, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_interfaces6.raw": (4, {}),
    "ntc-templates/cisco_ios/cisco_ios_show_interfaces_01.raw": (3, {}),
}

# (interfaces read, {loopback: its global IPv6 addresses})
SHOW_IPV6_BRIEF: dict[str, Any] = {
    "genieparser/iosxe/golden_output1_output.txt": (6, {"Loopback0": ()}),
    "genieparser/iosxe/golden_output2_output.txt": (4, {"Loopback0": ()}),
    "genieparser/iosxe/golden_output3_output.txt": (6, {"Loopback0": ()}),
    "genieparser/iosxe/golden_output_1_output.txt": (9, {"Loopback0": ()}),
    "genieparser/iosxe/golden_output_2_output.txt": (7, {"Loopback0": ()}),
    "ntc-templates/cisco_ios/cisco_ios_show_ipv6_interface_brief.raw": (
        78,
        {"Loopback0": ("2a01:5a20:1fff::13",)},
    ),
}

# [(interface, its IPv6 prefixes)]
RUNNING_CONFIG: dict[str, Any] = {
    "genieparser/iosxe/golden_output11_output.txt": [("Tunnel100", ())],
    "genieparser/iosxe/golden_output12_output.txt": [("Tunnel100", ())],
    "genieparser/iosxe/golden_output13_output.txt": [("nve1", ())],
    "genieparser/iosxe/golden_output14_output.txt": [("nve1", ())],
    "genieparser/iosxe/golden_output15_output.txt": [("Vlan1023", ())],
    "genieparser/iosxe/golden_output16_output.txt": [("TenGigabitEthernet1/0/13", ())],
    "genieparser/iosxe/golden_output17_output.txt": [("GigabitEthernet2/0/4", ())],
    "genieparser/iosxe/golden_output18_output.txt": [("GigabitEthernet1/0/27", ())],
    "genieparser/iosxe/golden_output19_output.txt": [("GigabitEthernet1/0/28", ())],
    "genieparser/iosxe/golden_output20_output.txt": [("GigabitEthernet1/0/7", ())],
    "genieparser/iosxe/golden_output21_output.txt": COLUMN_0,
    "genieparser/iosxe/golden_output22_output.txt": COLUMN_0,
    "genieparser/iosxe/golden_output23_output.txt": [("TenGigabitEthernet0/1/3", ())],
    "genieparser/iosxe/golden_output24_output.txt": [("TenGigabitEthernet1/0/12", ())],
    "genieparser/iosxe/golden_output25_output.txt": [("GigabitEthernet1/0/9", ())],
    "genieparser/iosxe/golden_output26_output.txt": [("GigabitEthernet1/0/9", ())],
    "genieparser/iosxe/golden_output27_output.txt": COLUMN_0,
    "genieparser/iosxe/golden_output28_output.txt": [("GigabitEthernet1/0/10", ())],
    "genieparser/iosxe/golden_output31_output.txt": [("GigabitEthernet1/0/10", ())],
    "genieparser/iosxe/golden_output32_output.txt": [("GigabitEthernet1/0/11", ())],
    "genieparser/iosxe/golden_output_10_output.txt": [("GigabitEthernet1/0/2", ())],
    "genieparser/iosxe/golden_output_11_output.txt": [("FiveGigabitEthernet1/0/35", ())],
    "genieparser/iosxe/golden_output_12_output.txt": [("TenGigabitEthernet1/0/3", ())],
    "genieparser/iosxe/golden_output_15_output.txt": [("TenGigabitEthernet0/0/0.10", ())],
    "genieparser/iosxe/golden_output_16_output.txt": [("GigabitEthernet1/0/5", ())],
    "genieparser/iosxe/golden_output_17_output.txt": [("HundredGigE1/0/2", ())],
    "genieparser/iosxe/golden_output_18_output.txt": [("HundredGigE1/0/1", ())],
    "genieparser/iosxe/golden_output_19_output.txt": COLUMN_0,
    "genieparser/iosxe/golden_output_1_output.txt": [("GigabitEthernet0", ())],
    "genieparser/iosxe/golden_output_20_output.txt": INDENTED,
    "genieparser/iosxe/golden_output_21_output.txt": [("TwentyFiveGigE1/1/1", ())],
    "genieparser/iosxe/golden_output_29_output.txt": [("FiftyGigE1/1/2", ())],
    "genieparser/iosxe/golden_output_2_output.txt": [
        ("Port-channel1.100", ("2001:db8:8404::1/112",))
    ],
    "genieparser/iosxe/golden_output_30_output.txt": [("Port-channel1", ())],
    "genieparser/iosxe/golden_output_31_output.txt": [("Vlan1", ())],
    "genieparser/iosxe/golden_output_3_output.txt": [
        ("GigabitEthernet0/0/3", ("2001:db8:c409::1/112",))
    ],
    "genieparser/iosxe/golden_output_4_output.txt": INDENTED,
    "genieparser/iosxe/golden_output_5_output.txt": INDENTED,
    "genieparser/iosxe/golden_output_6_output.txt": INDENTED,
    "genieparser/iosxe/golden_output_7_output.txt": [("ABC1213", ())],
    "genieparser/iosxe/golden_output_8_output.txt": [("ABC1213", ())],
    "genieparser/iosxe/golden_output_9_output.txt": [("GigabitEthernet1/0/13", ())],
    "genieparser/iosxe/golden_output_output.txt": [("Port-channel93", ())],
    # An `ipv6 address` that is no IPv6 address (FE80:A8::2DA::1689/126): refused, naming it.
    "ntc-templates/cisco_ios/cisco_ios_show_running-config_interface.raw": REFUSED
    + ": an ipv6 address that is none",
}


def _ip_view(rows: list[p.IpInterfaceRow]) -> Any:
    return (
        len(rows),
        {r.name: tuple(str(a) for a in r.ipv4) for r in rows if p.is_loopback(r.name)},
    )


def _if_view(rows: list[p.InterfaceRow]) -> Any:
    return len(rows), {r.name: r.description for r in rows if p.is_loopback(r.name)}


def _v6_view(rows: dict[str, tuple[ipaddress.IPv6Address, ...]]) -> Any:
    return len(rows), {k: tuple(str(a) for a in v) for k, v in rows.items() if p.is_loopback(k)}


def _run_view(rows: list[p.RunningInterface]) -> Any:
    return [(b.name, tuple(str(a) for a in b.ipv6)) for b in rows]


CASES: list[tuple[str, Callable[[str], Any], Callable[[Any], Any], dict[str, Any]]] = [
    (p.SHOW_IP_INTERFACE, p.parse_show_ip_interface, _ip_view, SHOW_IP_INTERFACE),
    (p.SHOW_INTERFACES, p.parse_show_interfaces, _if_view, SHOW_INTERFACES),
    (p.SHOW_IPV6_BRIEF, p.parse_show_ipv6_brief, _v6_view, SHOW_IPV6_BRIEF),
    (p.SHOW_RUNNING_INTERFACE, p.parse_running_interface, _run_view, RUNNING_CONFIG),
]


def _params() -> list[Any]:
    out = []
    for command, parse, view, table in CASES:
        for path in ios_samples(command):
            out.append(pytest.param(path, parse, view, table, id=f"{command}:{sample_id(path)}"))
    return out


@pytest.mark.parametrize(("path", "parse", "view", "table"), _params())
def test_every_real_sample_is_read_exactly_or_refused(
    path: Path, parse: Callable[[str], Any], view: Callable[[Any], Any], table: dict[str, Any]
) -> None:
    expected = table[sample_id(path)]
    text = as_netmiko_returns(path.read_text())
    if isinstance(expected, str):
        with pytest.raises(p.ParseError):
            parse(text)
    else:
        assert view(parse(text)) == expected


@pytest.mark.parametrize(("command", "table"), [(c[0], c[3]) for c in CASES])
def test_every_sample_on_disk_has_an_expectation(command: str, table: dict[str, Any]) -> None:
    assert sorted(sample_id(path) for path in ios_samples(command)) == sorted(table)


def test_samples_per_project_and_os() -> None:
    # The counts the README states; IOS-XE outputs are there for every command sent.
    counts = {
        command: sorted({"/".join(sample_id(p).split("/")[:2]) for p in ios_samples(command)})
        for command, *_ in CASES
    }
    assert all(any(src.endswith("/iosxe") for src in sources) for sources in counts.values())
    assert all(any(src.endswith(("/ios", "/cisco_ios")) for src in s) for s in counts.values())


def _iosxe(folder: str, name: str) -> str:
    return as_netmiko_returns((IOS_SAMPLES / "genieparser/iosxe" / folder / name).read_text())


def test_iosxe_pseudowire_keeps_its_own_description() -> None:
    # ntc-templates' template does not know `pseudowire1 is up`: it skips the header and
    # hands `Description: pseudowire to core router` to ucse1/0/1 above it.
    rows = p.parse_show_interfaces(_iosxe("show_interfaces", "golden_output_3_output.txt"))
    assert rows == [
        p.InterfaceRow("ucse1/0/1", shutdown=True, description=None),
        p.InterfaceRow("pseudowire1", shutdown=False, description="pseudowire to core router"),
    ]


def test_iosxe_header_forms() -> None:
    rows = {
        r.name: r
        for r in p.parse_show_interfaces(_iosxe("show_interfaces", "golden_output_1_output.txt"))
    }
    # Indented headers, `up (spoofing)`, and the loopback among them.
    assert list(rows)[:2] == ["BDI105", "TenGigabitEthernet0/1/86"]
    assert not rows["Dialer1"].shutdown
    assert rows["TenGigabitEthernet0/1/7"].shutdown
    assert rows["Loopback50998"] == p.InterfaceRow("Loopback50998", False, None)
    (deleted, _) = p.parse_show_interfaces(_iosxe("show_interfaces", "golden_output4_output.txt"))
    assert deleted == p.InterfaceRow("GigabitEthernet0/0/0.2", False, None, deleted=True)
    autostate = p.parse_show_interfaces(_iosxe("show_interfaces", "golden_output2_output.txt"))
    assert autostate[0] == p.InterfaceRow("Vlan1", shutdown=True, description=None)


def test_catalyst_control_plane_interface_name_has_spaces() -> None:
    path = (
        IOS_SAMPLES / "napalm/ios/show_interfaces/test_get_interfaces-control-plane-interface.txt"
    )
    (row,) = p.parse_show_interfaces(path.read_text())
    assert row == p.InterfaceRow("Control Plane Interface", shutdown=False, description=None)


def test_iosxe_loopback_running_config_read_once_unindented() -> None:
    # genieparser keeps this IOS-XE capture inside an indented Python string: as stored it
    # is refused (above); as the router printed it, it is read.
    text = textwrap.dedent(_iosxe("show_running-config_interface", "golden_output_5_output.txt"))
    (block,) = p.parse_running_interface(text)
    assert block.name == "Loopback1"
    assert block.ipv6 == (
        ipaddress.IPv6Interface("2001:db8:4:1::1/64"),
        ipaddress.IPv6Interface("2001:db8:400:1::2/112"),
    )


def test_iosxe_router_loopbacks_from_show_ip_interface() -> None:
    rows = p.parse_show_ip_interface(
        _iosxe("show_ip_interface", "test_show_interface.py-golden_output5.txt")
    )
    assert p.router_id(rows) == ipaddress.IPv4Address("172.16.186.199")
    assert {r.name for r in rows if r.shutdown} >= {"GigabitEthernet0/0/1", "GigabitEthernet0"}

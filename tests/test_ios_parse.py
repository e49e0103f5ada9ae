"""Recorded IOS outputs → expected loopback state (no device, no SSH).

Real-device outputs live in tests/data/ios-samples/ (each with its origin and licence, see
the README there); outputs recorded here live in tests/data/ios/.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopbackctl.model import Loopback
from loopbackctl.platforms.cisco_ios import parse as p

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "ios"
SAMPLES = DATA.parent / "ios-samples" / "ntc-templates" / "cisco_ios"


def sample(command: str, name: str) -> str:
    path = SAMPLES / command / name
    if not path.exists():
        pytest.fail(f"real IOS sample missing: {path}", pytrace=False)
    return path.read_text()


def v4(text: str) -> ipaddress.IPv4Interface:
    return ipaddress.IPv4Interface(text)


def v6(text: str) -> ipaddress.IPv6Interface:
    return ipaddress.IPv6Interface(text)


# -- show ip interface ----------------------------------------------------------------

SHOW_IP_INTERFACE_LOOPBACKS = {
    "cisco_ios_show_ip_interface.raw": {
        "Loopback0": ("88.16.255.249/32",),
        "Loopback1": ("88.16.255.1/32",),
        "Loopback505": ("192.168.100.100/32",),
        "Loopback506": ("192.168.200.100/32",),
        "Loopback1001": ("172.18.0.24/32",),
        "Loopback5999": ("172.22.255.255/32",),
        "Loopback12345": ("88.16.245.1/32",),
    },
    "cisco_ios_show_ip_interface2.raw": {"Loopback0": ("10.255.255.1/32",)},
    "cisco_ios_show_ip_interface3.raw": {"Loopback1001": ("10.0.0.0/32",)},
    "cisco_ios_show_ip_interface4.raw": {"Loopback0": ("10.0.0.0/32",)},
    "cisco_ios_show_ip_interface5.raw": {},
    "cisco_ios_show_ip_interface6.raw": {},
    "cisco_ios_show_ip_interface7.raw": {},
    "cisco_ios_show_ip_interface8.raw": {},
}


@pytest.mark.parametrize("name", sorted(SHOW_IP_INTERFACE_LOOPBACKS))
def test_show_ip_interface_real_samples(name: str) -> None:
    rows = p.parse_show_ip_interface(sample("show_ip_interface", name))
    got = {r.name: tuple(str(a) for a in r.ipv4) for r in rows if p.is_loopback(r.name)}
    assert got == SHOW_IP_INTERFACE_LOOPBACKS[name]
    assert not any(r.shutdown for r in rows if p.is_loopback(r.name))


def _expected(command: str, name: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load(sample(command, name.replace(".raw", ".yml")))
    return list(doc["parsed_sample"])


@pytest.mark.parametrize("name", sorted(SHOW_IP_INTERFACE_LOOPBACKS))
def test_show_ip_interface_matches_ntc_expectation(name: str) -> None:
    # The pinned major's field names and values: what ntc-templates' own tests expect.
    rows = p.parse_show_ip_interface(sample("show_ip_interface", name))
    expected = _expected("show_ip_interface", name)
    assert [r.name for r in rows] == [e["interface"] for e in expected]
    for row, exp in zip(rows, expected, strict=True):
        assert [str(a.ip) for a in row.ipv4] == exp["ip_address"]
        assert [str(a.network.prefixlen) for a in row.ipv4] == exp["prefix_length"]
        assert row.shutdown == (exp["link_status"] == "administratively down")


def test_show_ip_interface_secondary_keeps_device_order() -> None:
    rows = p.parse_show_ip_interface(
        sample("show_ip_interface", "cisco_ios_show_ip_interface2.raw")
    )
    with_secondary = [r for r in rows if len(r.ipv4) > 1]
    assert len(with_secondary) == 1
    assert with_secondary[0].ipv4[1] == v4("192.168.1.3/24")  # the `Secondary address` line
    shut = {r.name for r in rows if r.shutdown}
    assert shut == {"GigabitEthernet2/24", "Vlan2", "GigabitEthernet0"}


def test_router_id_from_real_sample_prefers_highest_up_loopback() -> None:
    # Loopback506 (192.168.200.100) is higher but forwards in VRF SIG: the global OSPF/BGP
    # processes pick among the global table's interfaces only.
    rows = p.parse_show_ip_interface(sample("show_ip_interface", "cisco_ios_show_ip_interface.raw"))
    assert {r.name: r.vrf for r in rows if r.name in ("Loopback0", "Loopback506")} == {
        "Loopback0": None,
        "Loopback506": "SIG",
    }
    assert p.router_id(rows) == ipaddress.IPv4Address("88.16.255.249")


def test_router_id_without_loopback_takes_highest_interface() -> None:
    rows = p.parse_show_ip_interface(
        sample("show_ip_interface", "cisco_ios_show_ip_interface6.raw")
    )
    assert p.router_id(rows) == ipaddress.IPv4Address("172.16.3.226")


# -- show interfaces ------------------------------------------------------------------

SHOW_INTERFACES_LOOPBACKS = {
    "cisco_ios_show_interfaces.raw": {"Loopback0": ("Loopback", False)},
    "cisco_ios_show_interfaces3.raw": {"Loopback0": ("Loopback Interface", False)},
    "cisco_ios_show_interfaces2.raw": {},
    "cisco_ios_show_interfaces4.raw": {},
    "cisco_ios_show_interfaces5.raw": {},
    "cisco_ios_show_interfaces6.raw": {},
    "cisco_ios_show_interfaces_01.raw": {},
}


@pytest.mark.parametrize("name", sorted(SHOW_INTERFACES_LOOPBACKS))
def test_show_interfaces_real_samples(name: str) -> None:
    rows = p.parse_show_interfaces(sample("show_interfaces", name))
    got = {r.name: (r.description, r.shutdown) for r in rows if p.is_loopback(r.name)}
    assert got == SHOW_INTERFACES_LOOPBACKS[name]
    expected = _expected("show_interfaces", name)
    assert [(r.name, r.description or "") for r in rows] == [
        (e["interface"], e["description"]) for e in expected
    ]


def test_show_interfaces_admin_down_real_sample() -> None:
    rows = p.parse_show_interfaces(sample("show_interfaces", "cisco_ios_show_interfaces3.raw"))
    assert {r.name for r in rows if r.shutdown} == {"GigabitEthernet0/1", "FastEthernet0/1/1"}


# -- show ipv6 interface brief --------------------------------------------------------


def test_show_ipv6_brief_real_sample() -> None:
    got = p.parse_show_ipv6_brief(
        sample("show_ipv6_interface_brief", "cisco_ios_show_ipv6_interface_brief.raw")
    )
    # Link-local and `unassigned` are dropped; IOS's upper case reads as the same address.
    assert got["Loopback0"] == (ipaddress.IPv6Address("2a01:5a20:1fff::13"),)
    assert got["Vlan76"] == (
        ipaddress.IPv6Address("2a01:3333:3333:33::1"),
        ipaddress.IPv6Address("2a01:3333:3333:33::2"),
    )
    assert got["Vlan1"] == ()
    assert len(got) == 78


# -- show running-config interface ----------------------------------------------------


def test_running_config_real_sample_with_invalid_address_is_an_error() -> None:
    # The sample's `ipv6 address FE80:A8::2DA::1689/126` is no IPv6 address: a failure
    # naming the interface, never a silently dropped address.
    text = sample("show_running-config_interface", "cisco_ios_show_running-config_interface.raw")
    with pytest.raises(p.ParseError, match=r"GigabitEthernet2/0/4\.223478"):
        p.parse_running_interface(text)


def test_running_config_real_sample_blocks() -> None:
    text = sample("show_running-config_interface", "cisco_ios_show_running-config_interface.raw")
    text = text.replace("FE80:A8::2DA::1689/126", "FE80:A8::2DA:1689/126")
    blocks = p.parse_running_interface(text)
    assert [b.name for b in blocks] == [
        e["interface"]
        for e in _expected(
            "show_running-config_interface", "cisco_ios_show_running-config_interface.yml"
        )
    ]
    assert [b.ipv6 for b in blocks if b.ipv6] == [(v6("fe80:a8::2da:1689/126"),)]


def test_running_config_trailing_end_is_read() -> None:
    blocks = p.parse_running_interface(
        (DATA / "router1" / "show_running-config_interface_Loopback0.raw").read_text()
    )
    assert len(blocks) == 1
    assert blocks[0].ipv6 == (v6("2001:db8:ff::1/128"), v6("2001:db8:1:1::1/64"))


def test_running_config_keeps_unmanaged_ipv6_forms_apart() -> None:
    (block,) = p.parse_running_interface((DATA / "running_config_ipv6_forms.raw").read_text())
    assert block.ipv6 == (v6("2001:db8:5::5/128"),)
    assert block.other == ("2001:DB8:5:1::/64 eui-64", "2001:DB8:5:2::1/128 anycast")


def test_running_config_garbage_is_an_error() -> None:
    with pytest.raises(p.ParseError):
        p.parse_running_interface("% Interface Loopback9 not found\n")


# -- refusals and empty answers are failures, never "no loopbacks" --------------------


@pytest.mark.parametrize(
    "parse",
    [p.parse_show_ip_interface, p.parse_show_interfaces, p.parse_show_ipv6_brief],
)
def test_refused_show_is_an_error(parse: Any) -> None:
    with pytest.raises(p.ParseError, match="Invalid input"):
        parse((DATA / "show_ip_interface_refused.raw").read_text())


@pytest.mark.parametrize(
    "parse",
    [p.parse_show_ip_interface, p.parse_show_interfaces, p.parse_show_ipv6_brief],
)
def test_empty_answer_is_an_error(parse: Any) -> None:
    with pytest.raises(p.ParseError, match="lists no interface"):
        parse("")


def test_raw_text_fallback_is_an_error() -> None:
    # What netmiko's use_textfsm hands back when parsing fails: a string, not rows.
    with pytest.raises(p.ParseError):
        p.parse_show_ip_interface("Loopback0 is up, line protocol is up\n  Garbage here\n")


# -- a line the parser does not expect: read as before, or refused ------------------

LO0_BLOCK = """Loopback0 is up, line protocol is up
  Hardware is Loopback
  Description: router-id
  Internet address is 198.18.255.1/32
  MTU 1514 bytes, BW 8000000 Kbit/sec, DLY 5000 usec,
  Encapsulation LOOPBACK, loopback not set
"""
GI_BLOCK = """GigabitEthernet0/0 is up, line protocol is up
  Hardware is iGbE, address is 5254.0076.370a (bia 5254.0076.370a)
  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec,
"""


def test_show_interfaces_header_forms_are_read() -> None:
    text = (
        "Load for five secs: 3%/0%; one minute: 3%; five minutes: 3%\n"
        "Time source is NTP, 17:32:09.532 EST Tue Apr 23 2019\n"
        + LO0_BLOCK
        + GI_BLOCK.replace("is up, line protocol is up", "is reset, line protocol is down")
        + "  Loopback1 is administratively down, line protocol is down , Autostate Enabled\n"
        "  Hardware is Loopback\n  MTU 1514 bytes\n"
        "Loopback2 is deleted, line protocol is down\n  Hardware is Loopback\n  MTU 1514 bytes\n"
        "pseudowire7 is up\n    Description: to core\n    MTU 9198 bytes, BW not configured\n"
    )
    assert p.parse_show_interfaces(text) == [
        p.InterfaceRow("Loopback0", False, "router-id"),
        p.InterfaceRow("GigabitEthernet0/0", False, None),
        p.InterfaceRow("Loopback1", True, None),
        p.InterfaceRow("Loopback2", False, None, deleted=True),
        p.InterfaceRow("pseudowire7", False, "to core"),
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # A header of a state IOS is not known to print: its lines would land elsewhere.
        (LO0_BLOCK + "Tunnel9 is initializing, line protocol is down\n", "does not know"),
        (LO0_BLOCK + "pseudowire1 is standing by\n", "does not know"),
        # A description where IOS does not print one, or a second one.
        (LO0_BLOCK.replace("  Internet", "  Description: other\n  Internet"), "description"),
        (LO0_BLOCK.replace("  Hardware", "  Description: x\n  Hardware"), "description"),
        ("  Description: nobody's\n" + LO0_BLOCK, "before any interface"),
        # A header inside the block cuts it short: the loopback would lose its description.
        (LO0_BLOCK.replace("  Hardware", "pseudowire1 is up\n  Hardware"), "MTU"),
        (LO0_BLOCK.replace("  Description", "Serial0 is up, line protocol is up\n  Description"),
         "MTU"),
    ],
)  # fmt: skip
def test_show_interfaces_refuses_what_it_cannot_place(text: str, words: str) -> None:
    with pytest.raises(p.ParseError, match=words):
        p.parse_show_interfaces(text + GI_BLOCK)


def test_show_interfaces_skips_detail_lines_it_does_not_read() -> None:
    # Lines other than the header and the description are skipped wherever they are: they
    # cannot change what is read (the description counts only in its place).
    odd = LO0_BLOCK.replace("  Internet", "frobnication on\n  Tunnel is odd\n  Internet")
    assert p.parse_show_interfaces(odd + GI_BLOCK) == p.parse_show_interfaces(LO0_BLOCK + GI_BLOCK)


def test_show_ip_interface_headers_must_all_be_read() -> None:
    # ntc-templates skips any indented line starting with `Peer`; a header there is refused
    # whatever the template does.
    text = (DATA / "router1" / "show_ip_interface.raw").read_text()
    with pytest.raises(p.ParseError, match="interface headers"):
        p.parse_show_ip_interface(text.replace("  Broadcast", "  Peer1 is up\n  Broadcast", 1))


def test_show_ipv6_brief_refuses_unknown_lines() -> None:
    text = (DATA / "router1" / "show_ipv6_interface_brief.raw").read_text()
    for junk in ("pseudowire1 is up", "Tunnel5 up/up", "    FE80::1 extra", "  Description: x"):
        with pytest.raises(p.ParseError, match="does not know"):
            p.parse_show_ipv6_brief(text.replace("Loopback0 ", junk + "\nLoopback0 ", 1))


def test_deleted_loopback_is_not_there() -> None:
    d = DATA / "router1"
    gone = lambda s: s.replace("Loopback20 is up", "Loopback20 is deleted")  # noqa: E731
    ip_rows = p.parse_show_ip_interface(gone((d / "show_ip_interface.raw").read_text()))
    if_rows = p.parse_show_interfaces(gone((d / "show_interfaces.raw").read_text()))
    brief = p.parse_show_ipv6_brief((d / "show_ipv6_interface_brief.raw").read_text())
    running = {
        b.name: b
        for b in p.parse_running_interface(
            (d / "show_running-config_interface_Loopback0.raw").read_text()
        )
    }
    assert [lb.name for lb in p.loopbacks(ip_rows, if_rows, brief, running)] == [
        "Loopback0",
        "Loopback10",
    ]
    up_rows = p.parse_show_interfaces((d / "show_interfaces.raw").read_text())
    with pytest.raises(p.ParseError, match="Loopback20: admin state differs"):
        p.loopbacks(ip_rows, up_rows, brief, running)


# -- the four sources together --------------------------------------------------------


def read_router1() -> tuple[Loopback, ...]:
    d = DATA / "router1"
    ip_rows = p.parse_show_ip_interface((d / "show_ip_interface.raw").read_text())
    if_rows = p.parse_show_interfaces((d / "show_interfaces.raw").read_text())
    brief = p.parse_show_ipv6_brief((d / "show_ipv6_interface_brief.raw").read_text())
    assert p.needs_running_config(ip_rows, brief) == ["Loopback0"]
    running = {
        b.name: b
        for b in p.parse_running_interface(
            (d / "show_running-config_interface_Loopback0.raw").read_text()
        )
    }
    return p.loopbacks(ip_rows, if_rows, brief, running)


def test_recorded_router_state() -> None:
    assert read_router1() == (
        Loopback(
            "Loopback0",
            (
                v4("198.18.255.1/32"),
                v4("198.18.254.1/32"),
                v6("2001:db8:ff::1/128"),
                v6("2001:db8:1:1::1/64"),
            ),
            description="router-id",
        ),
        Loopback(
            "Loopback10",
            (v4("198.18.253.53/32"),),
            description="anycast dns",
            shutdown=True,
        ),
        Loopback("Loopback20"),
    )


def test_recorded_router_id_skips_shut_loopback() -> None:
    rows = p.parse_show_ip_interface((DATA / "router1" / "show_ip_interface.raw").read_text())
    assert p.router_id(rows) == ipaddress.IPv4Address("198.18.255.1")


def test_sources_that_disagree_are_an_error() -> None:
    d = DATA / "router1"
    ip_rows = p.parse_show_ip_interface((d / "show_ip_interface.raw").read_text())
    if_rows = p.parse_show_interfaces((d / "show_interfaces.raw").read_text())
    brief = p.parse_show_ipv6_brief((d / "show_ipv6_interface_brief.raw").read_text())
    with pytest.raises(p.ParseError, match="prefix lengths were not read"):
        p.loopbacks(ip_rows, if_rows, brief, {})
    stale = p.RunningInterface("Loopback0", (v6("2001:db8:ff::1/128"),), ())
    with pytest.raises(p.ParseError, match="differ"):
        p.loopbacks(ip_rows, if_rows, brief, {"Loopback0": stale})
    good = p.RunningInterface("Loopback0", (v6("2001:db8:ff::1/128"), v6("2001:db8:1:1::1/64")), ())
    partial = [r for r in if_rows if r.name != "Loopback10"]
    with pytest.raises(p.ParseError, match="shows Loopback10 0 times"):
        p.loopbacks(ip_rows, partial, brief, {"Loopback0": good})
    with pytest.raises(p.ParseError, match="missing from"):
        p.loopbacks(ip_rows, if_rows, {"Loopback0": brief["Loopback0"]}, {"Loopback0": good})


def test_unmanaged_ipv6_form_is_an_error() -> None:
    d = DATA / "router1"
    ip_rows = p.parse_show_ip_interface((d / "show_ip_interface.raw").read_text())
    if_rows = p.parse_show_interfaces((d / "show_interfaces.raw").read_text())
    brief = p.parse_show_ipv6_brief((d / "show_ipv6_interface_brief.raw").read_text())
    odd = p.RunningInterface(
        "Loopback0",
        (v6("2001:db8:ff::1/128"), v6("2001:db8:1:1::1/64")),
        ("2001:DB8:9::/64 eui-64",),
    )
    with pytest.raises(p.ParseError, match="eui-64"):
        p.loopbacks(ip_rows, if_rows, brief, {"Loopback0": odd})


def test_parsing_imports_nothing_heavy_at_import() -> None:
    import subprocess
    import sys

    code = (
        "import sys, loopbackctl.platforms, loopbackctl.platforms.cisco_ios.driver;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('netmiko', 'textfsm', 'ntc_templates', 'paramiko')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"

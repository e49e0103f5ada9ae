"""Local mode, pure parts: recorded `ip -j` output → state, checks, plans, words.

The JSON below was recorded from this kernel (6.x, iproute2 6.1) in a fresh network
namespace at each step named.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket

import pytest

from loopbackctl.errors import UsageError
from loopbackctl.local import icmp, output, probe, roundtrip, target
from loopbackctl.local.checks import Expected, address_checks, link_checks, result_word
from loopbackctl.local.engine import Report
from loopbackctl.local.plan import LINK_UP, plan, plan_addresses
from loopbackctl.local.state import (
    LOOPBACK4,
    LOOPBACK6,
    Ipv6Status,
    ParseError,
    ipv6_status,
    parse_ip_addr,
)
from loopbackctl.model import Host, Loopback
from loopbackctl.result import Check, HostResult

_LT = '"valid_life_time":4294967295,"preferred_life_time":4294967295'
_V4 = f'{{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo",{_LT}}}'
_V6 = f'{{"family":"inet6","local":"::1","prefixlen":128,"scope":"host",{_LT}}}'
_X4 = (
    f'{{"family":"inet","local":"198.18.200.1","prefixlen":32,"scope":"global","label":"lo",{_LT}}}'
)
_S4 = (
    '{"family":"inet","local":"127.0.0.2","prefixlen":8,"scope":"host","secondary":true,'
    f'"label":"lo",{_LT}}}'
)
_X6 = f'{{"family":"inet6","local":"2001:db8:200::1","prefixlen":128,"scope":"global",{_LT}}}'
_LINK = (
    '"mtu":65536,"qdisc":"{q}","operstate":"{o}","group":"default","txqlen":1000,'
    '"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00"'
)
_UP = '"flags":["LOOPBACK","UP","LOWER_UP"],' + _LINK.format(q="noqueue", o="UNKNOWN")


def _addr(flags_link: str, infos: list[str]) -> str:
    return f'[{{"ifindex":1,"ifname":"lo",{flags_link},"addr_info":[{",".join(infos)}]}}]'


# ip -j addr show dev lo, in a namespace just made by `ip netns add`
FRESH = _addr('"flags":["LOOPBACK"],' + _LINK.format(q="noop", o="DOWN"), [])
# ... after `ip link set lo up`
UP = _addr(_UP, [_V4, _V6])
# ip -j link show lo (no addr_info at all)
LINK_ONLY = '[{"ifindex":1,"ifname":"lo",' + _UP + ',"linkmode":"DEFAULT"}]'
# ... plus 198.18.200.1/32, 2001:db8:200::1/128 and 127.0.0.2/8 (a secondary)
EXTRAS = _addr(_UP, [_V4, _X4, _S4, _X6, _V6])
# ... then `ip link set lo down`: IPv4 stays, every IPv6 address is gone
DOWN_KEPT = _addr('"flags":["LOOPBACK"],' + _LINK.format(q="noqueue", o="DOWN"), [_V4, _X4, _S4])
# ... up again with net.ipv6.conf.lo.disable_ipv6=1
V6_OFF = _addr(_UP, [_V4, _X4, _S4])

V6_ON = Ipv6Status(True, "net.ipv6.conf.lo.disable_ipv6 = 0")
V6_DISABLED = Ipv6Status(False, "net.ipv6.conf.lo.disable_ipv6 = 1")
NONE = Expected(None, "no inventory")
A4 = ipaddress.IPv4Interface("198.18.200.1/32")
A6 = ipaddress.IPv6Interface("2001:db8:200::1/128")
WEB = Expected("web1", "inventory host web1 (data.local: true)", (A4, A6))


def _failed(checks: list[Check]) -> set[str]:
    return {c.name for c in checks if not c.ok and c.severity == "error"}


# ---------------------------------------------------------------- parsing


def test_parse_fresh_namespace() -> None:
    state = parse_ip_addr(FRESH)
    assert state is not None
    assert not state.up and not state.lower_up
    assert state.addresses == frozenset()
    assert (state.mtu, state.link_type, state.operstate) == (65536, "loopback", "DOWN")


def test_parse_up_compares_addresses_as_a_set() -> None:
    state = parse_ip_addr(UP)
    assert state is not None and state.up and state.lower_up
    assert state.operstate == "UNKNOWN"  # lo's normal operstate: flags decide
    assert state.addresses == {LOOPBACK4, LOOPBACK6}
    shuffled = _addr(_UP, [_V6, _V4])
    assert parse_ip_addr(shuffled) == state


def test_parse_extras_and_secondary() -> None:
    state = parse_ip_addr(EXTRAS)
    assert state is not None
    assert state.addresses == {
        LOOPBACK4,
        LOOPBACK6,
        A4,
        A6,
        ipaddress.IPv4Interface("127.0.0.2/8"),
    }


def test_parse_link_show_has_no_addresses() -> None:
    state = parse_ip_addr(LINK_ONLY)
    assert state is not None and state.up and state.addresses == frozenset()


def test_parse_no_lo() -> None:
    assert parse_ip_addr("") is None
    assert parse_ip_addr("[]") is None


@pytest.mark.parametrize(
    "text",
    [
        "Device lo does not exist",
        '{"ifname": "lo"}',
        '[{"ifname":"lo","ifindex":"one","flags":[]}]',
        '[{"ifname":"lo","ifindex":1,"flags":"UP"}]',
        '[{"ifname":"lo","ifindex":1,"flags":[],"addr_info":[{"family":"inet"}]}]',
        '[{"ifname":"lo","ifindex":1,"flags":[],'
        '"addr_info":[{"family":"inet","local":"300.1.1.1","prefixlen":8}]}]',
        '[{"name":"lo"}]',
    ],
)
def test_parse_refuses_what_is_not_iproute2_json(text: str) -> None:
    with pytest.raises(ParseError):
        parse_ip_addr(text)


def test_ipv6_status() -> None:
    assert ipv6_status("0\n", True).enabled
    off = ipv6_status("1\n", True)
    assert not off.enabled and "disable_ipv6 = 1" in off.reason
    gone = ipv6_status(None, False)
    assert not gone.enabled and "/proc/sys/net/ipv6" in gone.reason


# ---------------------------------------------------------------- checks


def test_fresh_namespace_checks_name_the_failures() -> None:
    state = parse_ip_addr(FRESH)
    checks = link_checks(state)
    addr, unmanaged = address_checks(state, V6_ON, NONE)
    assert _failed(checks + addr) == {"lo up", "addr 127.0.0.1/8", "addr ::1/128"}
    assert unmanaged == []
    up = next(c for c in checks if c.name == "lo up")
    assert "DOWN" in up.detail


def test_healthy_lo_passes() -> None:
    state = parse_ip_addr(UP)
    checks = link_checks(state) + address_checks(state, V6_ON, NONE)[0]
    assert _failed(checks) == set()
    assert [c.name for c in checks][:4] == ["lo exists", "lo type", "lo up", "lo mtu"]


def test_mtu_is_a_warning() -> None:
    state = parse_ip_addr(UP.replace('"mtu":65536', '"mtu":1500'))
    mtu = next(c for c in link_checks(state) if c.name == "lo mtu")
    assert not mtu.ok and mtu.severity == "warning" and "1500" in mtu.detail


def test_no_lo_at_all() -> None:
    assert _failed(link_checks(None)) == {"lo exists", "lo type", "lo up", "lo mtu"}


def test_inventory_addresses_and_unmanaged() -> None:
    state = parse_ip_addr(EXTRAS)
    checks, unmanaged = address_checks(state, V6_ON, WEB)
    assert _failed(checks) == set()
    assert unmanaged == ["127.0.0.2/8"]
    listed = next(c for c in checks if c.name == "unmanaged")
    assert listed.ok and "127.0.0.2/8" in listed.detail


def test_lo_down_loses_global_ipv6_and_says_why() -> None:
    state = parse_ip_addr(DOWN_KEPT)
    checks, _ = address_checks(state, V6_ON, WEB)
    assert _failed(checks) == {"addr ::1/128", f"addr {A6}"}
    lost = next(c for c in checks if c.name == f"addr {A6}")
    assert "taking lo down deletes its global IPv6 addresses" in lost.detail


def test_ipv6_disabled_is_not_a_broken_lo() -> None:
    state = parse_ip_addr(V6_OFF)
    checks, _ = address_checks(state, V6_DISABLED, NONE)
    v6 = next(c for c in checks if c.name == "addr ::1/128")
    assert (v6.ok, v6.severity, result_word(v6)) == (False, "info", "n/a")
    assert _failed(checks) == set()


def test_absent_addresses() -> None:
    state = parse_ip_addr(EXTRAS)
    exp = Expected("web1", "x", (), (A4,))
    checks, unmanaged = address_checks(state, V6_ON, exp)
    assert _failed(checks) == {f"absent {A4}"}
    assert "198.18.200.1/32" not in unmanaged


def test_localhost_resolution_judgement() -> None:
    both = roundtrip.judge_resolution("r", "localhost", ["127.0.0.1", "::1"], True)
    assert both.ok and "127.0.0.1, ::1" in both.detail
    v4 = roundtrip.judge_resolution("r", "localhost", ["127.0.0.1"], True)
    assert (v4.ok, v4.severity) == (False, "warning") and "/etc/hosts" in v4.detail
    assert roundtrip.judge_resolution("r", "localhost", ["127.0.0.1"], False).ok
    none = roundtrip.judge_resolution("r", "localhost", ["::1"], True)
    assert (none.ok, none.severity) == (False, "error")


# ---------------------------------------------------------------- plans


def test_plan_fresh_namespace_only_brings_lo_up() -> None:
    state = parse_ip_addr(FRESH)
    assert state is not None
    assert plan(state, V6_ON, NONE).steps == (LINK_UP,)


def test_plan_restores_base_addresses_when_up() -> None:
    state = parse_ip_addr(_addr(_UP, []))
    assert state is not None
    got = [s.command for s in plan(state, V6_ON, NONE).steps]
    assert got == ["ip addr add 127.0.0.1/8 dev lo", "ip addr add ::1/128 dev lo"]
    no6 = [s.command for s in plan(state, V6_DISABLED, NONE).steps]
    assert no6 == ["ip addr add 127.0.0.1/8 dev lo"]


def test_plan_after_lo_down_re_adds_global_ipv6_only() -> None:
    state = parse_ip_addr(DOWN_KEPT)
    assert state is not None
    got = [s.command for s in plan(state, V6_ON, WEB).steps]
    assert got == ["ip link set dev lo up", f"ip addr replace {A6} dev lo"]


def test_plan_converged_is_empty_and_never_removes_unnamed() -> None:
    state = parse_ip_addr(EXTRAS)
    assert state is not None
    assert plan(state, V6_ON, WEB).steps == ()
    assert plan(state, V6_ON, NONE).steps == ()


def test_plan_absent_and_blocked() -> None:
    have = frozenset({LOOPBACK4, A4})
    p = plan_addresses(have, V6_DISABLED, Expected("h", "x", (A6,), (A4, LOOPBACK4)))
    assert [s.command for s in p.steps] == [f"ip addr del {A4} dev lo"]
    assert len(p.blocked) == 1 and "IPv6 is disabled" in p.blocked[0]


# ---------------------------------------------------------------- which host is local


def _host(name: str, platform: str = "linux", local: bool = False) -> Host:
    return Host(
        name=name,
        platform=platform,
        data={"local": True} if local else {},
        loopbacks=(
            Loopback("lo", (A4, A6), absent_addresses=(ipaddress.ip_interface("198.18.9.9/32"),)),
        )
        if platform == "linux"
        else (),
    )


def test_choose_order() -> None:
    hosts = {"a": _host("a"), "vm": _host("vm"), "b": _host("b", local=True)}
    assert target.choose(hosts, "a", "vm", "inv")[0] == hosts["a"]
    assert target.choose(hosts, None, "vm", "inv")[0] == hosts["b"]
    del hosts["b"]
    host, how = target.choose(hosts, None, "vm", "inv")
    assert host == hosts["vm"] and "named like this machine" in how
    host, how = target.choose(hosts, None, "other", "inv")
    assert host is None and "--local-host" in how


def test_choose_errors() -> None:
    with pytest.raises(UsageError, match="no such host"):
        target.choose({"a": _host("a")}, "zz", "vm", "inv")
    two = {"a": _host("a", local=True), "b": _host("b", local=True)}
    with pytest.raises(UsageError, match=r"data\.local"):
        target.choose(two, None, "vm", "inv")
    with pytest.raises(UsageError, match="cisco_ios"):
        target.expected_for(_host("r1", "cisco_ios"), "x")


def test_expected_for_linux_host() -> None:
    exp = target.expected_for(_host("a"), "how")
    assert exp.host == "a" and exp.addresses == (A4, A6)
    assert exp.absent == (ipaddress.ip_interface("198.18.9.9/32"),)


def test_env_name_matches_inventory_module() -> None:
    from loopbackctl import inventory

    assert target.ENV_INVENTORY == inventory.ENV_INVENTORY


# ---------------------------------------------------------------- ICMP arithmetic


def test_icmp_stats_as_ping() -> None:
    lo, avg, hi, mdev = icmp.stats_ms((0.001, 0.002, 0.003))
    assert (round(lo, 6), round(avg, 6), round(hi, 6)) == (1.0, 2.0, 3.0)
    assert mdev == pytest.approx(0.816497, rel=1e-5)  # ping: sqrt(mean(x²) - mean(x)²)
    text = icmp.summary(icmp.Echo(3, (0.001, 0.002, 0.003), "raw socket"))
    assert text == (
        "3 sent, 3 received, 0% loss, rtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms"
        " (raw socket)"
    )
    assert icmp.summary(icmp.Echo(3, (), "ping socket")) == (
        "3 sent, 0 received, 100% loss (ping socket)"
    )


def test_icmp_packets() -> None:
    pkt = icmp.request(socket.AF_INET, 0x1234, 7)
    assert icmp.checksum(pkt) == 0  # a correct checksum sums to zero
    assert icmp.parse_reply(socket.AF_INET, False, pkt) == (8, 0x1234, 7)
    ip_header = bytes([0x45]) + bytes(19)
    assert icmp.parse_reply(socket.AF_INET, True, ip_header + pkt) == (8, 0x1234, 7)
    v6 = icmp.request(socket.AF_INET6, 1, 2)
    assert icmp.parse_reply(socket.AF_INET6, True, v6) == (128, 1, 2)
    assert icmp.parse_reply(socket.AF_INET6, True, b"\x81") is None


# ---------------------------------------------------------------- HTTP parsing


def test_parse_response() -> None:
    status, body = roundtrip.parse_response(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabcEXTRA"
    )
    assert (status, body) == (200, b"abc")
    with pytest.raises(ValueError, match="cut short"):
        roundtrip.parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
    with pytest.raises(ValueError, match="status line"):
        roundtrip.parse_response(b"SSH-2.0-OpenSSH\r\n\r\n")


# ---------------------------------------------------------------- probe words


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("127.1.2.3:1", ("127.1.2.3", 1)),
        ("[::1]:8080", ("::1", 8080)),
        ("[0:0:0:0:0:0:0:1]:65535", ("::1", 65535)),
    ],
)
def test_probe_target(text: str, want: tuple[str, int]) -> None:
    assert probe.parse_target(text) == want


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10.0.0.1:80", "only reaches loopback"),
        ("198.18.0.1:80", "only reaches loopback"),
        ("[2001:db8::1]:80", "only reaches loopback"),
        ("localhost:80", "not an IP address"),
        ("::1:8080", "brackets"),
        ("127.0.0.1", "ADDRESS:PORT"),
        ("127.0.0.1:0", "port"),
        ("127.0.0.1:70000", "port"),
        ("127.0.0.1:http", "port"),
    ],
)
def test_probe_target_refused(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        probe.parse_target(text)


def test_probe_explanations() -> None:
    ok, text = probe.explain("127.0.0.1", 8080, "refused", 0.1, errno.ECONNREFUSED, 1, True)
    assert not ok and text.startswith("nothing is listening on 127.0.0.1:8080")
    ok, text = probe.explain("::1", 80, "connected", 0.1, None, 1, True)
    assert ok and "[::1]:80" in text
    _, text = probe.explain("127.0.0.1", 80, "timeout", 1000, None, 1, True)
    assert "within 1 s" in text and "firewall" in text and "backlog" in text
    _, text = probe.explain("127.0.0.1", 80, "timeout", 1000, None, 1, False)
    assert "lo is DOWN" in text
    _, text = probe.explain("::1", 80, "error", 0, errno.EADDRNOTAVAIL, 1, None)
    assert "not assigned to lo" in text
    _, text = probe.explain("127.0.0.1", 80, "error", 0, errno.ENETUNREACH, 1, None)
    assert "unreachable" in text


# ---------------------------------------------------------------- output


def _report(status: str = "drift") -> Report:
    checks = [
        Check("lo up", False, "lo is DOWN"),
        Check("lo mtu", False, "mtu 1500", "warning"),
        Check("icmp ::1", False, "not applicable", "info"),
        Check("lo exists", True, "lo is interface 1"),
    ]
    result = HostResult(
        name="ns1",
        platform="linux",
        status=status,
        checks=checks,
        changes=["ip x"],  # type: ignore[arg-type]
    )
    return Report(result, "apply --check", "ns1", None, "would make 1 change(s)", {"ip x": "y"})


def test_json_document_keys_are_stable() -> None:
    doc = json.loads(output.to_json(_report()))
    assert list(doc) == [
        "host",
        "netns",
        "inventory_host",
        "mode",
        "status",
        "summary",
        "error",
        "changes",
        "unmanaged",
        "checks",
        "duration",
    ]
    assert doc["host"] == "ns1" and doc["netns"] == "ns1" and doc["changes"] == ["ip x"]
    assert all(list(c) == ["name", "ok", "severity", "result", "detail"] for c in doc["checks"])
    assert [c["result"] for c in doc["checks"]] == ["FAIL", "warn", "n/a", "ok"]


def test_table_rows_and_verdict() -> None:
    text = output.to_table(_report())
    lines = text.splitlines()
    assert lines[0].split() == ["check", "result", "detail"]
    assert lines[1].split()[:3] == ["lo", "up", "FAIL"]
    assert "ip x    # y" in text
    assert lines[-1].startswith("apply --local --check on netns ns1: drift: would make 1")
    assert "1 check(s) fail: lo up" in lines[-1]
    assert "\x1b[" not in text and "\x1b[" in output.to_table(_report(), colour=True)


def test_junit_one_testcase_per_check() -> None:
    from xml.etree import ElementTree as ET

    root = ET.fromstring(output.render(_report(), "junit"))
    names = [tc.get("name") for tc in root.iter("testcase")]
    assert names == ["status", "lo up", "lo mtu", "icmp ::1", "lo exists"]
    failed = [tc.get("name") for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert failed == ["status", "lo up"]

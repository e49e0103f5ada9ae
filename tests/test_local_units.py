"""Local mode, pure parts: which inventory host is this machine, its own checks (ICMP
arithmetic, HTTP parsing, the resolver, probe's words), and how they judge a result.

lo's state, health and plans are the Linux driver's: tests/test_linux_health.py.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

import pytest

from loopbackctl.errors import LoopbackctlError, UsageError
from loopbackctl.local import checks, icmp, probe, roundtrip, target
from loopbackctl.local.run import _judge
from loopbackctl.model import Host, Loopback
from loopbackctl.platforms.linux.parse import Ipv6Status
from loopbackctl.result import Check, HostResult

A4 = ipaddress.IPv4Interface("198.18.200.1/32")
A6 = ipaddress.IPv6Interface("2001:db8:200::1/128")
V6_ON = Ipv6Status(True, "net.ipv6.conf.lo.disable_ipv6 = 0")
V6_DISABLED = Ipv6Status(False, "net.ipv6.conf.lo.disable_ipv6 = 1")


def test_localhost_resolution_judgement() -> None:
    both = roundtrip.judge_resolution("r", "localhost", ["127.0.0.1", "::1"], True)
    assert both.ok and "127.0.0.1, ::1" in both.detail
    v4 = roundtrip.judge_resolution("r", "localhost", ["127.0.0.1"], True)
    assert (v4.ok, v4.severity) == (False, "warning") and "/etc/hosts" in v4.detail
    assert roundtrip.judge_resolution("r", "localhost", ["127.0.0.1"], False).ok
    none = roundtrip.judge_resolution("r", "localhost", ["::1"], True)
    assert (none.ok, none.severity) == (False, "error")


# ---------------------------------------------------------------- which host is local


def _host(name: str, platform: str = "linux", local: bool = False) -> Host:
    return Host(
        name=name,
        platform=platform,
        settings={"local": True} if local else {},
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
    with pytest.raises(UsageError, match=r"cisco_ios.*pick a linux host"):
        target.local_host("vm", _host("r1", "cisco_ios"))


def test_local_host_is_this_machine_with_the_inventory_hosts_lo() -> None:
    host = target.local_host("ns1", _host("a"))
    assert (host.name, host.platform, host.purge, dict(host.data)) == ("ns1", "linux", False, {})
    (lo,) = host.loopbacks
    assert lo.name == "lo" and lo.addresses == (A4, A6)
    assert lo.absent_addresses == (ipaddress.ip_interface("198.18.9.9/32"),)
    bare = target.local_host("vm", None)
    assert bare.platform == "linux" and bare.loopbacks == (Loopback("lo"),)
    assert target.Target(host, "a", "how").extra == 2


def test_local_platform_is_a_capability() -> None:
    from loopbackctl import platforms

    assert [p.name for p in platforms.PLATFORMS.values() if p.local] == ["linux"]


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


# ---------------------------------------------------------------- local checks and verdicts


def test_inventory_and_unmanaged_checks() -> None:
    none = checks.inventory_check(None, "no inventory", 0)
    assert none.ok and none.detail == "no inventory; no extra addresses expected"
    some = checks.inventory_check("web1", "inventory host web1 (data.local: true)", 2)
    assert some.detail.endswith(": 2 extra address(es) on lo expected")
    listed = checks.unmanaged_check(["198.18.77.1/32", "127.0.0.2/8"])
    assert listed.ok and "198.18.77.1/32, 127.0.0.2/8" in listed.detail
    assert checks.unmanaged_check([]).detail.startswith("none")


def test_round_trips_are_in_report_order_and_v6_is_na_without_ipv6() -> None:
    names = [name for name, _ in checks._jobs(V6_DISABLED, 3, 0.5)]
    assert names == [
        "icmp 127.0.0.1",
        "icmp ::1",
        "http 127.0.0.1",
        "http ::1",
        "refused 127.0.0.1",
        "refused ::1",
        "answers 127.0.0.2",
        "resolve localhost",
    ]
    na = dict(checks._jobs(V6_DISABLED, 3, 0.5))["http ::1"]()
    assert (na.ok, na.severity) == (False, "info") and "IPv6 is disabled" in na.detail


def test_a_check_that_raises_is_a_failed_check() -> None:
    trips = checks.RoundTrips(V6_ON, 1)

    def broken() -> Check:
        raise RuntimeError("boom")

    trips._run("x", broken)
    assert trips.results["x"] == Check("x", False, "internal error: RuntimeError: boom")


@pytest.mark.parametrize(
    ("status", "mode", "check", "want"),
    [
        ("ok", "verify", False, "drift"),
        ("ok", "apply", True, "drift"),
        ("changed", "apply", False, "failed"),
        ("ok", "apply", False, "failed"),
        ("failed", "apply", False, "failed"),
    ],
)
def test_a_failing_local_check_judges_the_result(
    status: str, mode: str, check: bool, want: str
) -> None:
    r = HostResult("vm", "linux", status, checks=[Check("icmp 127.0.0.1", False, "100% loss")])  # type: ignore[arg-type]
    _judge(r, mode, check)  # type: ignore[arg-type]
    assert r.status == want
    if want == "failed" and status != "failed":
        assert r.error == "lo still fails after apply: icmp 127.0.0.1"
    warned = HostResult("vm", "linux", "ok", checks=[Check("lo mtu", False, "1500", "warning")])
    _judge(warned, mode, check)  # type: ignore[arg-type]
    assert warned.status == "ok"


def test_local_errors_are_loopbackctl_errors() -> None:
    assert issubclass(icmp.Unavailable, LoopbackctlError)

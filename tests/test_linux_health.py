"""The Linux driver on recorded lo states, as local mode and the fleet see them alike:
parsing, lo's health, the kernel's own addresses in what is wanted, IPv6 disabled, and
the commands a plan becomes.

The JSON below was recorded from this kernel (6.x, iproute2 6.1) in a fresh network
namespace at each step named.
"""

from __future__ import annotations

import ipaddress

import pytest

from loopbackctl.checks import state_checks, with_health
from loopbackctl.errors import ParseError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import plan_host
from loopbackctl.platforms.base import Observed
from loopbackctl.platforms.linux import PLATFORM, health
from loopbackctl.platforms.linux.driver import READ_LO, LinuxDriver
from loopbackctl.platforms.linux.parse import READ_IPV6, Ipv6Status, ipv6_status, parse_ip_addr
from loopbackctl.result import Check
from loopbackctl.templating import Templates
from tests.test_linux_parse import IPV6_OFF, NO_IPV6, Recorded

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

A = ipaddress.ip_interface
A4 = A("198.18.200.1/32")
A6 = A("2001:db8:200::1/128")
GONE = A("198.18.9.9/32")
BARE = Host("self", "linux", loopbacks=(Loopback("lo"),))
WEB = Host("web1", "linux", loopbacks=(Loopback("lo", (A4, A6)),))


def observe(
    addr: str, host: Host = BARE, ipv6: dict[str, tuple[int, str]] | None = None
) -> Observed:
    return LinuxDriver().read(Recorded({READ_LO: (0, addr), **(ipv6 or {})}), host)  # type: ignore[arg-type]


def judged(addr: str, host: Host = BARE, **kw: dict[str, tuple[int, str]]) -> list[Check]:
    """Every check the runner would report for `host` on this state."""
    have = observe(addr, host, kw.get("ipv6"))
    want = LinuxDriver().wanted(host, have, purge=False)
    plan = plan_host(want, have.loopbacks, PLATFORM.policy)
    return with_health(have.health, state_checks(want, have.loopbacks, plan, PLATFORM.policy))


def commands(
    addr: str, host: Host = BARE, ipv6: dict[str, tuple[int, str]] | None = None
) -> list[str]:
    d = LinuxDriver()
    have = observe(addr, host, ipv6)
    plan = plan_host(d.wanted(host, have, purge=False), have.loopbacks, PLATFORM.policy)
    return d.commands(host, have, plan, Templates().for_host(host))


def failed(checks: list[Check]) -> set[str]:
    return {c.name for c in checks if not c.ok and c.severity == "error"}


def named(checks: list[Check], name: str) -> Check:
    return next(c for c in checks if c.name == name)


# ---------------------------------------------------------------- parsing


def test_parse_fresh_namespace() -> None:
    state = parse_ip_addr(FRESH)
    assert state is not None
    assert not state.up and not state.lower_up
    assert state.addresses == ()
    assert (state.mtu, state.link_type, state.operstate) == (65536, "loopback", "DOWN")


def test_parse_up_compares_addresses_as_a_set() -> None:
    state = parse_ip_addr(UP)
    assert state is not None and state.up and state.lower_up
    assert state.operstate == "UNKNOWN"  # lo's normal operstate: flags decide
    assert set(state.addresses) == {A("127.0.0.1/8"), A("::1/128")}
    shuffled = parse_ip_addr(_addr(_UP, [_V6, _V4]))
    assert shuffled is not None and set(shuffled.addresses) == set(state.addresses)


def test_parse_extras_and_secondary() -> None:
    state = parse_ip_addr(EXTRAS)
    assert state is not None
    assert set(state.addresses) == {A("127.0.0.1/8"), A("::1/128"), A4, A6, A("127.0.0.2/8")}


def test_parse_link_show_has_no_addresses() -> None:
    state = parse_ip_addr(LINK_ONLY)
    assert state is not None and state.up and state.addresses == ()


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
    assert ipv6_status("0\n").enabled
    off = ipv6_status("1\n")
    assert not off.enabled and "disable_ipv6 = 1" in off.reason
    gone = ipv6_status("none\n")
    assert not gone.enabled and "/proc/sys/net/ipv6" in gone.reason


@pytest.mark.parametrize("answer", ["", "% Invalid input", "-1", "cat: Permission denied"])
def test_an_ipv6_answer_that_is_not_the_sysctl_is_refused(answer: str) -> None:
    with pytest.raises(ParseError, match="disable_ipv6 read as"):
        ipv6_status(answer)
    with pytest.raises(ParseError, match=r"could not read lo: .*disable_ipv6"):
        observe(UP, ipv6={READ_IPV6: (0, answer)})


# ---------------------------------------------------------------- health and checks


def test_fresh_namespace_checks_name_the_failures() -> None:
    checks = judged(FRESH)
    assert failed(checks) == {"lo up", "lo 127.0.0.1/8", "lo ::1/128"}
    assert "DOWN" in named(checks, "lo up").detail
    assert "bringing it up restores it" in named(checks, "lo 127.0.0.1/8").detail


def test_healthy_lo_passes_and_health_comes_first() -> None:
    checks = judged(UP)
    assert failed(checks) == set()
    assert [c.name for c in checks] == [
        "lo exists",
        "lo type",
        "lo mtu",
        "ipv6 enabled",
        "lo up",  # the driver's lo up (flags, LOWER_UP) takes the common check's place
        "lo 127.0.0.1/8",
        "lo ::1/128",
    ]
    assert "LOWER_UP" in named(checks, "lo up").detail


def test_up_without_lower_up_fails() -> None:
    no_carrier = UP.replace('"UP","LOWER_UP"', '"UP"')
    up = named(judged(no_carrier), "lo up")
    assert not up.ok and "not LOWER_UP" in up.detail


def test_mtu_is_a_warning() -> None:
    mtu = named(judged(UP.replace('"mtu":65536', '"mtu":1500')), "lo mtu")
    assert not mtu.ok and mtu.severity == "warning" and "1500" in mtu.detail


def test_inventory_addresses_and_unmanaged() -> None:
    checks = judged(EXTRAS, WEB)
    assert failed(checks) == set()
    secondary = named(checks, "lo 127.0.0.2/8")
    assert secondary.ok and secondary.severity == "info" and "unmanaged" in secondary.detail


def test_lo_down_loses_global_ipv6_and_says_why() -> None:
    checks = judged(DOWN_KEPT, WEB)
    assert failed(checks) == {"lo up", "lo ::1/128", f"lo {A6}"}
    lost = named(checks, f"lo {A6}")
    assert "taking lo down deletes its global IPv6 addresses" in lost.detail


def test_ipv6_disabled_is_not_a_broken_lo_and_v6_addresses_are_not_planned() -> None:
    have = observe(V6_OFF, WEB, IPV6_OFF)
    assert have.ip_versions == frozenset({4})
    checks = judged(V6_OFF, WEB, ipv6=IPV6_OFF)
    v6 = named(checks, "ipv6 enabled")
    assert (v6.ok, v6.severity) == (False, "warning") and "disable_ipv6 = 1" in v6.detail
    loopback6 = named(checks, "lo ::1/128")
    assert (loopback6.ok, loopback6.severity) == (False, "info")  # n/a, not broken
    # The inventory's IPv6 address cannot be held: a failed check saying why, no push.
    assert failed(checks) == {f"lo {A6}"}
    assert "lo cannot hold it while IPv6 is disabled" in named(checks, f"lo {A6}").detail
    assert commands(V6_OFF, WEB, IPV6_OFF) == []


def test_a_kernel_without_ipv6_is_said() -> None:
    v6 = named(judged(V6_OFF, ipv6=NO_IPV6), "ipv6 enabled")
    assert not v6.ok and "the kernel runs without IPv6" in v6.detail


def test_a_host_that_declares_no_lo_is_left_alone() -> None:
    have = observe(FRESH, Host("h", "linux"))
    assert have.health == ()
    assert LinuxDriver().wanted(Host("h", "linux"), have, purge=True) == ()


# ---------------------------------------------------------------- wanted and commands


def test_wanted_adds_the_kernel_addresses_once() -> None:
    host = Host(
        "h",
        "linux",
        loopbacks=(Loopback("lo", (A4, A("127.0.0.1/8")), absent_addresses=(GONE, A("::1/128"))),),
    )
    (lo,) = LinuxDriver().wanted(host, Observed(()), purge=False)
    assert lo.addresses == (A("127.0.0.1/8"), A("::1/128"), A4)
    assert lo.absent_addresses == (GONE,)  # the kernel's own are never removed
    (v4,) = LinuxDriver().wanted(host, Observed((), ip_versions=frozenset({4})), purge=False)
    assert v4.addresses == (A("127.0.0.1/8"), A4)


def test_fresh_namespace_is_brought_up_and_given_the_kernel_addresses() -> None:
    assert commands(FRESH) == [
        "ip link set dev lo up",
        "ip address replace 127.0.0.1/8 dev lo",
        "ip address replace ::1/128 dev lo",
    ]


def test_after_lo_down_global_ipv6_and_loopback6_are_re_added() -> None:
    assert commands(DOWN_KEPT, WEB) == [
        "ip link set dev lo up",
        "ip address replace ::1/128 dev lo",
        f"ip address replace {A6} dev lo",
    ]


def test_converged_plans_nothing_and_never_removes_unnamed() -> None:
    assert commands(EXTRAS, WEB) == []
    assert commands(EXTRAS) == []


def test_absent_addresses_are_removed_but_never_the_kernel_ones() -> None:
    host = Host("h", "linux", loopbacks=(Loopback("lo", absent_addresses=(A4, A("127.0.0.1/8"))),))
    assert commands(EXTRAS, host) == [f"ip address del {A4} dev lo"]


def test_link_checks_are_pure() -> None:
    state = parse_ip_addr(UP)
    assert state is not None
    on = Ipv6Status(True, "net.ipv6.conf.lo.disable_ipv6 = 0")
    assert [c.name for c in health.link_checks(state, on)] == [
        "lo exists",
        "lo type",
        "lo up",
        "lo mtu",
        "ipv6 enabled",
    ]

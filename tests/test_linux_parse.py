"""The Linux runtime on recorded `ip -j` answers: parsing, refusing what does not parse
(never "ok"), the commands for each Change, and the ping fence."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from loopbackctl.errors import DeviceError
from loopbackctl.model import Host
from loopbackctl.plan import Change, Plan
from loopbackctl.platforms.base import Observed
from loopbackctl.platforms.linux.driver import LinuxDriver
from loopbackctl.platforms.linux.parse import READ_IPV6
from loopbackctl.platforms.linux.revert import READ_PENDING
from loopbackctl.templating import Templates
from loopbackctl.transport import ping
from loopbackctl.transport.framing import Result

DATA = Path(__file__).parent / "data" / "linux"
A = ipaddress.ip_interface
HOST = Host("h1", "linux")


def rec(name: str) -> str:
    return (DATA / name).read_text()


# lo's disable_ipv6 sysctl, or "none" on a kernel without IPv6
IPV6_ON = {READ_IPV6: (0, "0")}
NONE_PENDING = {READ_PENDING: (0, "none")}  # no confirm-or-revert job waits on the host
IPV6_OFF = {READ_IPV6: (0, "1")}
NO_IPV6 = {READ_IPV6: (0, "none")}


class Recorded:
    """A Shell answering from recordings: command → (status, output); lo's IPv6 sysctls
    read as enabled unless the answers say otherwise."""

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = {**IPV6_ON, **NONE_PENDING, **answers}
        self.uid: int | None = None
        self.where = "root@198.18.0.1:22"

    def exec_many(self, commands: Sequence[str], timeout: float | None = None) -> list[Result]:
        return [Result(c, *self.answers[c]) for c in commands]

    def exec(self, command: str, timeout: float | None = None) -> Result:
        return self.exec_many([command], timeout)[0]

    def refusal(self, res: Result) -> str:
        return f"`{res.command}` failed (exit {res.status}): {res.output}"


def read(addr: tuple[int, str]) -> tuple[object, ...]:
    s = Recorded({"ip -j addr show dev lo": addr})
    return LinuxDriver().read(s, HOST).loopbacks  # type: ignore[arg-type]


def test_fresh_namespace_lo_is_down_and_empty() -> None:
    (lo,) = read((0, rec("fresh_addr.json")))
    assert lo.name == "lo" and lo.shutdown and lo.addresses == ()  # type: ignore[attr-defined]


def test_up_lo_with_addresses_in_any_order() -> None:
    (lo,) = read((0, rec("up_addr.json")))
    assert not lo.shutdown  # type: ignore[attr-defined]
    assert set(lo.addresses) == {  # type: ignore[attr-defined]
        A("127.0.0.1/8"), A("198.18.200.1/32"), A("127.0.0.2/8"),
        A("2001:db8:200::1/128"), A("::1/128"),
    }  # fmt: skip
    shuffled = json.loads(rec("up_addr.json"))
    shuffled[0]["addr_info"].reverse()
    (again,) = read((0, json.dumps(shuffled)))
    assert set(again.addresses) == set(lo.addresses)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("addr", "words"),
    [
        ((0, "Object \"addr\" is unknown"), "invalid JSON"),
        ((0, "[]"), "answered no interface"),
        ((1, 'Device "lo" does not exist.'), "failed (exit 1)"),
        ((0, '[{"ifname": "eth0"}]'), "other than lo"),
        ((0, '[{"ifname": "lo"}]'), "flags"),
        ((0, '[{"ifname": "lo", "flags": [], "ifindex": 1, "addr_info": [{"family": "inet"}]}]'),
         "without family"),
        ((0, rec("up_addr.json")[:-20]), "invalid JSON"),
    ],
)  # fmt: skip
def test_unparsable_answers_are_failures(addr: tuple[int, str], words: str) -> None:
    with pytest.raises(DeviceError, match=words.replace("(", r"\(").replace(")", r"\)")):
        read(addr)


def test_a_non_loopback_lo_is_refused() -> None:
    doc = json.loads(rec("up_addr.json"))
    doc[0]["link_type"] = "ether"
    with pytest.raises(DeviceError, match="not a loopback"):
        read((0, json.dumps(doc)))


def test_commands_bring_lo_up_first_and_take_it_down_last() -> None:
    d = LinuxDriver()
    changes = [
        Change("disable", "lo"),
        Change("remove_address", "lo", A("198.18.9.9/32")),
        Change("add_address", "lo", A("2001:db8::1/128")),
        Change("enable", "lo"),
    ]
    shipped = Templates().for_host(HOST)
    assert d.commands(HOST, Observed(()), Plan(tuple(changes), ()), shipped) == [
        "ip link set dev lo up",
        "ip address del 198.18.9.9/32 dev lo",
        "ip address replace 2001:db8::1/128 dev lo",
        "ip link set dev lo down",
    ]
    with pytest.raises(DeviceError, match="Linux cannot"):
        d.commands(HOST, Observed(()), Plan((Change("create", "lo0"),), ()), shipped)


def test_netplan_path_defaults_to_etc_netplan() -> None:
    assert LinuxDriver.netplan_path(HOST) == "/etc/netplan/60-loopbackctl-lo.yaml"
    h = Host("h", "linux", settings={"netplan_dir": "/srv/np/"})
    assert LinuxDriver.netplan_path(h) == "/srv/np/60-loopbackctl-lo.yaml"


def test_the_pinger_refuses_anything_outside_the_fence() -> None:
    for text in ("10.0.0.1", "8.8.8.8", "198.20.0.1", "2001:db9::1", "fe80::1", "::2"):
        ip = ipaddress.ip_address(text)
        assert not ping.allowed(ip)
        with pytest.raises(ValueError, match="refusing to ping"):
            ping.ping(ip)
    for text in ("127.0.0.1", "127.3.2.1", "::1", "198.18.0.1", "198.19.255.254", "2001:db8::9"):
        assert ping.allowed(ipaddress.ip_address(text))


def test_host_side_ping_is_fenced_too() -> None:
    s = Recorded(
        {
            "ping -n -q -c 1 -W 1 198.18.1.1": (0, ""),
            "ping -n -q -c 1 -W 1 2001:db8::1": (1, "1 packets transmitted, 0 received"),
        }
    )
    out = LinuxDriver().ping_own(
        s,  # type: ignore[arg-type]
        HOST,
        [A("198.18.1.1/32"), A("10.1.1.1/32"), A("2001:db8::1/128")],
    )
    assert out[0] is None
    assert out[1] == "not pinged: outside the ping allow-list"
    assert out[2] is not None and "no answer" in out[2]

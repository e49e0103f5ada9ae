"""The control machine's ping allow-list (verify --reachability): a user setting, never a
constant; outside it nothing is sent."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from loopbackctl.errors import UsageError
from loopbackctl.transport import ping as pinger
from tests.clirun import run_cli
from tests.conftest import TEST_PING_ALLOW


def nets(text: str) -> tuple[str, ...]:
    return tuple(str(n) for n in pinger.parse_allow(text, "x"))


def test_the_suite_pings_only_the_test_ranges() -> None:
    assert nets(TEST_PING_ALLOW) == ("127.0.0.0/8", "::1/128", "198.18.0.0/15", "2001:db8::/32")
    assert tuple(map(str, pinger.allow_list())) == nets(TEST_PING_ALLOW)


def test_option_over_environment_over_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pinger.ENV, "198.18.5.0/24")
    assert [str(n) for n in pinger.allow_list()] == ["198.18.5.0/24"]
    assert [str(n) for n in pinger.allow_list(" 198.18.6.0/24 , 2001:db8:6::/48 ")] == [
        "198.18.6.0/24",
        "2001:db8:6::/48",
    ]
    monkeypatch.setenv(pinger.ENV, "")
    assert pinger.allow_list() == ()  # set but empty: nothing is pinged from here
    monkeypatch.delenv(pinger.ENV)
    assert [str(n) for n in pinger.allow_list()] == ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("bad", ["10.0.0.1/8", "fleet", "10.0.0.0/33", "2001:db8::/129"])
def test_a_bad_entry_is_a_usage_error_naming_where(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    with pytest.raises(UsageError, match=r"^--ping-allow: "):
        pinger.allow_list(f"127.0.0.0/8,{bad}")
    monkeypatch.setenv(pinger.ENV, bad)
    with pytest.raises(UsageError, match=r"^\$LOOPBACKCTL_PING_ALLOW: .*is not a network"):
        pinger.allow_list()


def test_outside_the_allow_list_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("a ping was started")

    monkeypatch.setattr(pinger.subprocess, "run", no_process)
    allow = pinger.parse_allow("198.18.0.0/15", "x")
    for ip in ("10.255.0.1", "127.0.0.1", "2001:db8::1"):
        assert not pinger.allowed(ipaddress.ip_address(ip), allow)
        with pytest.raises(ValueError, match="outside the ping allow-list"):
            pinger.ping(ipaddress.ip_address(ip), allow=allow)
    assert pinger.allowed(ipaddress.ip_address("198.19.255.1"), allow)


def test_verify_refuses_a_bad_allow_list_before_contacting_anyone(tmp_path: Path) -> None:
    inv = tmp_path / "inventory"
    inv.mkdir()
    # 198.18.255.254 has no sshd anywhere: reaching it would fail the host, not exit 2.
    (inv / "hosts.yaml").write_text(
        "h1:\n  hostname: 198.18.255.254\n  platform: linux\n"
        "  data:\n    loopbacks: [{name: lo, addresses: [198.18.255.1/32]}]\n"
    )
    kh = tmp_path / "known_hosts"
    r = run_cli(inv, kh, ["verify", "--reachability", "--ping-allow", "10.0.0.0/8,nope"])
    assert r.rc == 2, r.out + r.err
    assert "--ping-allow: 'nope' is not a network" in r.err
    assert not kh.exists()

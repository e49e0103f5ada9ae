"""The `ip -j` reader (the Linux driver's, which local mode uses too) on real outputs: this
project's recordings (tests/data/linux) and other projects' test data
(tests/data/linux-samples, with origin and licence). Each is read exactly or refused."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from loopbackctl.errors import DeviceError, ParseError
from loopbackctl.platforms.linux import parse
from tests.samples import DATA, LINUX_SAMPLES
from tests.test_linux_parse import read

A = ipaddress.ip_interface
CLOUD_INIT = LINUX_SAMPLES / "cloud-init" / "netinfo"
NTC = LINUX_SAMPLES / "ntc-templates" / "linux" / "ip_address_show"


def lo_entry(text: str) -> str:
    """What `ip -j addr show dev lo` prints, from an `ip -j addr show` of every interface."""
    return json.dumps([d for d in json.loads(text) if d.get("ifname") == "lo"])


@pytest.mark.parametrize("name", ["sample-ipaddrshow-json", "sample-ipaddrshow-json-down"])
def test_cloud_init_samples(name: str) -> None:
    text = (CLOUD_INIT / name).read_text()
    (lo,) = read((0, lo_entry(text)))
    assert lo.addresses == (A("127.0.0.1/8"), A("::1/128"))  # type: ignore[attr-defined]
    assert not lo.shutdown  # type: ignore[attr-defined]
    # The driver asks for lo alone: an answer that lists other interfaces is refused.
    with pytest.raises(DeviceError, match="other than lo"):
        read((0, text))
    state = parse.parse_ip_addr(lo_entry(text))
    assert state is not None and state.up and state.mtu == 65536


def test_labels_and_address_flags_are_read() -> None:
    # A labelled IPv4 (lo:anycast), IPv6 with nodad, deprecated and noprefixroute.
    addr = (DATA / "linux" / "flags_addr.json").read_text()
    want = {
        A("127.0.0.1/8"),
        A("198.18.201.1/32"),
        A("198.18.201.2/32"),
        A("2001:db8:201::1/128"),
        A("2001:db8:201::2/128"),
        A("::1/128"),
    }
    (lo,) = read((0, addr))
    assert set(lo.addresses) == want  # type: ignore[attr-defined]
    state = parse.parse_ip_addr(addr)
    assert state is not None and set(state.addresses) == want


def test_a_peer_address_is_refused() -> None:
    # `ip address add 198.18.202.1 peer 198.18.202.2/32 dev lo` is not 198.18.202.1/32.
    addr = (DATA / "linux" / "peer_addr.json").read_text()
    with pytest.raises(DeviceError, match="peer"):
        read((0, addr))
    with pytest.raises(ParseError, match="peer"):
        parse.parse_ip_addr(addr)


@pytest.mark.parametrize("path", sorted(NTC.glob("*.raw")), ids=lambda p: p.name)
def test_text_where_json_was_asked_for_is_refused(path: Path) -> None:
    # What an `ip` (or busybox) without -j prints: never read as "no addresses".
    with pytest.raises(ParseError, match="invalid JSON"):
        parse.parse_ip_addr(path.read_text())
    with pytest.raises(DeviceError, match="invalid JSON"):
        read((0, path.read_text()))

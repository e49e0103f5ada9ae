"""The lab's pure parts: the address plan, name patterns, the lab inventory, the twin's
connection override, the IOS routers' configuration (no root needed)."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from loopbackctl import platforms
from loopbackctl.errors import InventoryError
from loopbackctl.lab import addresses, fabric, frr, inventory, ios, kinds, state, twin
from loopbackctl.lab.addresses import Slot, pick_slots, slots_needed
from loopbackctl.lab.errors import LabError
from loopbackctl.lab.node import Node

ROOT = Path(__file__).resolve().parent.parent


NO_SIMULATOR = "the IOS simulator is not installed (no Python module fake_switches): pip ..."


@pytest.fixture
def ios_available(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The IOS kind as on a machine with the simulator installed (whatever this one has)."""
    k = dataclasses.replace(kinds.kind("cisco_ios"), unavailable=lambda: None)
    monkeypatch.setitem(kinds.registry(), "cisco_ios", k)
    yield


def node(name: str, kind: str = "linux", index: int = 1, slot: int = 7, host: int = 1) -> Node:
    return Node(
        kind=kind,  # type: ignore[arg-type]
        index=index,
        number=host,
        name=name,
        netns=f"lb000000{name}",
        veth=f"lb000000v{host}",
        bridge="lb000000b0",
        slot=Slot(slot),
        host=host,
        dir=Path("/nonexistent") / name,
        key_file=Path("/lab/id_ed25519"),
        known_hosts=Path("/lab/known_hosts"),
        username=kinds.kind(kind).username,
    )


def test_slots_split_management_from_loopbacks() -> None:
    s = Slot(0x2A)
    assert str(s.net4) == "198.19.42.0/24" and str(s.net6) == "2001:db8:ff2a::/64"
    assert str(s.gw4) == "198.19.42.254" and str(s.gw6) == "2001:db8:ff2a::fe"
    assert str(s.loopback4(5)) == "198.18.42.5/32"
    assert str(s.loopback6(5)) == "2001:db8:fe2a::5/128"
    assert [str(a) for a in s.link4(1)] == ["198.19.42.2/31", "198.19.42.3/31"]
    for net in s.networks():
        assert addresses.in_lab_space(net)
    assert addresses.in_management(s.net4) and not addresses.in_management(s.loop4)
    assert slots_needed(3, 0) == 1 and slots_needed(253, 1) == 1
    assert slots_needed(254, 0) == 2 and slots_needed(1000, 0) == 4
    assert slots_needed(6, 3) == 2  # routers' links get a slot of their own


def test_pick_slots_skips_taken_slots_and_this_machines_networks() -> None:
    machine = [
        ipaddress.ip_network("198.19.10.128/25"),  # overlaps slot 10's management
        ipaddress.ip_network("198.18.11.7/32"),  # slot 11's loopbacks
        ipaddress.ip_network("2001:db8:ff0c::/48"),  # slot 12's IPv6
        ipaddress.ip_network("10.0.0.0/8"),
    ]
    picked = pick_slots(3, taken={13}, machine=machine, start=10)
    assert [s.index for s in picked] == [14, 15, 16]
    assert [s.index for s in pick_slots(2, set(), [], start=255)] == [255, 0]
    with pytest.raises(LabError, match="no 2 free /24"):
        pick_slots(2, taken=set(range(255)), machine=[])


def test_name_patterns_are_exact() -> None:
    assert state.PREFIX_RE.fullmatch("lb0a1b2c")
    for bad in ("lb0a1b2", "lb0a1b2cd", "lb0A1B2C", "xb0a1b2c", "lb12345g"):
        assert not state.PREFIX_RE.fullmatch(bad)
    ns, links = state.netns_pattern("lb0a1b2c"), state.link_pattern("lb0a1b2c")
    assert ns.fullmatch("lb0a1b2ch1") and ns.fullmatch("lb0a1b2cr1000")
    assert ns.fullmatch("lb0a1b2ci7")  # IOS routers
    assert not ns.fullmatch("lb0a1b2ch0") and not ns.fullmatch("lb0a1b2ch10000")
    assert ns.fullmatch("lb0a1b2cx1")  # a kind a newer version added: still reaped
    assert not ns.fullmatch("lb0a1b2cX1") and not ns.fullmatch("lb0a1b2ch1x")
    assert links.fullmatch("lb0a1b2cv1") and links.fullmatch("lb0a1b2cb0")
    assert not links.fullmatch("lb0a1b2cbr") and not links.fullmatch("lb0a1b2dv1")


def test_lab_inventory_validates_and_leaves_apply_work() -> None:
    nodes = [node(f"h{i}", index=i, host=i) for i in (1, 2, 3)]
    hosts, groups = inventory.lab_documents(nodes, Path("/lab/id_ed25519"), ["linux"])
    assert hosts["h2"] == {
        "hostname": "198.19.7.2",
        "port": 22,
        "groups": ["lab_linux"],
        "data": {
            "loopbacks": [{"name": "lo", "addresses": ["198.18.7.2/32", "2001:db8:fe07::2/128"]}]
        },
    }
    assert groups["lab_linux"]["connection_options"]["netmiko"]["extras"] == {
        "key_file": "/lab/id_ed25519"
    }
    seeded = {n.name: [str(a) for a in inventory.seeded(n)] for n in nodes}
    assert seeded == {"h1": ["198.18.7.1/32", "2001:db8:fe07::1/128"],
                      "h2": ["198.18.7.2/32"], "h3": []}  # fmt: skip


def test_lab_inventory_loads(tmp_path: Path) -> None:
    from loopbackctl import inventory as loader

    nodes = [node(f"h{i}", index=i, host=i) for i in (1, 2)] + [node("r1", "frr", 1, host=3)]
    hosts, groups = inventory.lab_documents(nodes, tmp_path / "id_ed25519", ["linux"])
    inventory.write(tmp_path / "inv", hosts, groups)
    inv, warnings = loader.load(str(tmp_path / "inv"))
    assert list(inv.hosts) == ["h1", "h2"] and warnings == []
    assert loader.connection_parameters(inv.hosts["h1"], "netmiko")["username"] == "root"


def test_frr_config_and_topology() -> None:
    assert fabric.topology(1) == [] and fabric.topology(2) == [(0, 1)]
    assert fabric.topology(3) == [(0, 1), (1, 2), (2, 0)]
    assert fabric.topology(4, "line") == [(0, 1), (1, 2), (2, 3)]
    assert fabric.topology(2, "line") == fabric.topology(2)
    routers = [node(f"r{i}", "frr", i, host=i) for i in (1, 2, 3)]
    links = fabric.make_links(routers, Slot(9))
    assert [(ln.a, ln.if_a, ln.b, ln.if_b) for ln in links] == [
        ("r1", "eth1", "r2", "eth1"), ("r2", "eth2", "r3", "eth1"), ("r3", "eth2", "r1", "eth2")
    ]  # fmt: skip
    text = frr.config(routers[0], links, [routers[0].loopback4], "lb000000")
    assert "interface eth1\n ip address 198.19.9.0/31\n ip ospf area 0\n" in text
    assert "interface eth2\n ip address 198.19.9.5/31\n" in text
    assert "interface lo\n ip address 198.18.7.1/32\n ip ospf area 0\n" in text
    assert " ospf router-id 198.18.7.1\n timers throttle spf 0 50 500\n" in text
    assert " ip ospf hello-interval 1\n ip ospf dead-interval 3\n" in text
    # OSPFv3 too, so the routers' IPv6 loopbacks are routed (the mesh pings them).
    assert " ipv6 ospf6 area 0\n ipv6 ospf6 network point-to-point\n" in text
    assert "interface lo\n ip address 198.18.7.1/32\n ip ospf area 0\n ipv6 ospf6 area 0\n" in text
    assert "router ospf6\n ospf6 router-id 198.18.7.1\n" in text


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "hosts.yaml").write_text(yaml.safe_dump({
        "web": {"hostname": "203.0.113.5", "port": 2222, "password": "p", "groups": ["g"],
                "data": {"loopbacks": [{"name": "lo", "addresses": ["198.18.200.9/32"]}],
                         "persist": "netplan", "netplan_dir": "/srv/netplan"}},
        "edge": {"hostname": "203.0.113.6", "groups": ["core"], "data": {"loopbacks": [
            {"name": "Loopback0", "addresses": ["10.255.0.9/32"], "description": "rid"}]}},
        "pe": {"hostname": "203.0.113.7", "platform": "cisco_xe", "username": "u"},
        "mx1": {"hostname": "203.0.113.8", "platform": "junos"},
    }, sort_keys=False))  # fmt: skip
    (src / "groups.yaml").write_text(yaml.safe_dump({
        "g": {"platform": "linux", "username": "ops", "connection_options": {"netmiko": {
            "hostname": "203.0.113.99", "port": 2200,
            "extras": {"ssh_config_file": "/prod/ssh_config", "key_file": "/prod/key"}}}},
        "core": {"platform": "cisco_ios", "username": "netops", "password": "prod-pw",
                 "connection_options": {"netmiko": {"port": 2022, "extras": {
                     "secret": "prod-secret", "key_file": "/prod/key"}}}},
    }))  # fmt: skip
    return src


def test_twin_connection_wins_over_every_group(tmp_path: Path, ios_available: None) -> None:
    """Linux and IOS hosts resolve to their lab devices: address, port, user, key, and the
    lab's enable secret, whatever the groups, the defaults or $LOOPBACKCTL_SECRET say."""
    from loopbackctl import inventory as loader
    from loopbackctl.transport import credentials

    src = _source(tmp_path)
    plan = twin.plan(str(src))
    assert plan.devices == (("linux", "web"), ("cisco_ios", "edge"), ("cisco_ios", "pe"))
    assert plan.skipped == (("mx1", "junos", "loopbackctl does not manage them"),)
    assert plan.notes() == ["left out of the twin (loopbackctl does not manage them): mx1 (junos)"]
    web, edge, pe = node("web"), node("edge", "cisco_ios", 1, host=2), node("pe", "cisco_ios", 2, 3)
    extras = {"cisco_ios": {"secret": "lab-secret"}}
    written = twin.write(plan, [web, edge, pe], tmp_path / "twin", Path("/lab/id_ed25519"), extras)
    hosts = yaml.safe_load((tmp_path / "twin" / "hosts.yaml").read_text())
    entry = hosts["web"]
    assert entry["connection_options"] == {"netmiko": {
        "hostname": web.ip4, "port": 22, "username": "root",
        "extras": {"key_file": "/lab/id_ed25519", "allow_agent": False}}}  # fmt: skip
    assert "password" not in entry
    assert entry["data"]["loopbacks"] == [{"name": "lo", "addresses": ["198.18.200.9/32"]}]
    assert entry["data"]["netplan_dir"] in ("/etc/netplan", str(web.netplan_dir))
    assert hosts["edge"]["connection_options"] == {"netmiko": {
        "hostname": edge.ip4, "port": 22, "username": "admin",
        "extras": {"key_file": "/lab/id_ed25519", "allow_agent": False,
                   "secret": "lab-secret"}}}  # fmt: skip
    assert hosts["edge"]["groups"] == ["core"] and "netplan_dir" not in hosts["edge"]["data"]
    assert hosts["pe"]["platform"] == "cisco_xe"  # an IOS-XE host: a simulated IOS router
    assert (tmp_path / "twin" / "groups.yaml").read_bytes() == (src / "groups.yaml").read_bytes()
    assert stat.S_IMODE(os.stat(written[0]).st_mode) == 0o600  # it holds the lab's secret
    inv, _ = loader.load(str(tmp_path / "twin"))
    env = {"LOOPBACKCTL_SECRET": "prod-env-secret", "LOOPBACKCTL_PASSWORD": "prod-env-pw"}
    creds = credentials.resolve(inv.hosts["edge"], env)
    assert (creds.hostname, creds.port, creds.username, creds.key_file, creds.secret) == (
        edge.ip4,
        22,
        "admin",
        "/lab/id_ed25519",
        "lab-secret",
    )
    assert inv.hosts["edge"].loopbacks[0].description == "rid"


def test_twin_leaves_ios_out_without_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    k = dataclasses.replace(kinds.kind("cisco_ios"), unavailable=lambda: NO_SIMULATOR)
    monkeypatch.setitem(kinds.registry(), "cisco_ios", k)
    plan = twin.plan(str(_source(tmp_path)))
    assert plan.devices == (("linux", "web"),)
    assert plan.notes() == [
        f"left out of the twin ({NO_SIMULATOR}): edge (cisco_ios), pe (cisco_xe)",
        "left out of the twin (loopbackctl does not manage them): mx1 (junos)",
    ]
    (tmp_path / "ios-only").mkdir()
    (tmp_path / "ios-only" / "hosts.yaml").write_text(
        "r: {hostname: 192.0.2.1, platform: cisco_ios}\n"
    )
    with pytest.raises(LabError, match=r"no host of a platform the lab can build.*fake_switches"):
        twin.plan(str(tmp_path / "ios-only"))


def test_twin_check_refuses_a_secret_that_is_not_the_labs(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(yaml.safe_dump({"edge": {
        "hostname": "198.19.7.1", "platform": "cisco_ios", "username": "admin",
        "connection_options": {"netmiko": {"extras": {"key_file": "/lab/id_ed25519",
                                                      "secret": "prod"}}}}}))  # fmt: skip
    edge = node("edge", "cisco_ios")
    extras = {"cisco_ios": {"secret": "lab-secret"}}
    with pytest.raises(LabError, match="would not use the lab's secret"):
        twin.check(tmp_path, {"edge": edge}, Path("/lab/id_ed25519"), extras)


def test_twin_check_refuses_a_host_that_would_leave_the_lab(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(yaml.safe_dump(
        {"web": {"hostname": "203.0.113.5", "platform": "linux", "username": "root",
                 "connection_options": {"netmiko": {"extras": {"key_file": "/lab/id_ed25519"}}}}}
    ))  # fmt: skip
    with pytest.raises(LabError, match=r"would connect to 203\.0\.113\.5:22"):
        twin.check(tmp_path, {"web": node("web")}, Path("/lab/id_ed25519"))


def test_twin_of_an_invalid_inventory_is_refused_like_validate(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text("web:\n  platform: linux\n  port: 99999\n")
    with pytest.raises(InventoryError):
        twin.plan(str(tmp_path))


def test_twin_with_routers_when_an_frr_platform_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ios_available: None
) -> None:
    """Until the FRR platform lands, a stand-in registered under that name (Linux's rules)
    lets the twin's router path run: FRR hosts become FRR routers, IOS hosts IOS routers."""
    stand_in = platforms.PLATFORMS["linux"].__class__(
        **{**platforms.PLATFORMS["linux"].__dict__, "name": "frr", "title": "FRR stand-in"}
    )
    monkeypatch.setitem(platforms.PLATFORMS, "frr", stand_in)
    (tmp_path / "hosts.yaml").write_text(yaml.safe_dump({
        "h": {"hostname": "192.0.2.1", "platform": "linux"},
        "core1": {"hostname": "192.0.2.2", "platform": "frr"},
        "core2": {"hostname": "192.0.2.3", "platform": "frr"},
        "pe1": {"hostname": "192.0.2.4", "platform": "cisco_ios"},
    }, sort_keys=False))  # fmt: skip
    plan = twin.plan(str(tmp_path))
    assert plan.devices == (
        ("linux", "h"), ("frr", "core1"), ("frr", "core2"), ("cisco_ios", "pe1")
    )  # fmt: skip
    assert plan.skipped == ()


# ------------------------------------------------------------------------- IOS routers


def test_ios_router_boots_with_management_and_seeded_loopback() -> None:
    r = node("ios2", "cisco_ios", 2, host=5)
    assert ios.management_config(r) == [
        "interface GigabitEthernet0/0",
        " description management",
        " ip address 198.19.7.5 255.255.255.0",
        " ipv6 address 2001:db8:ff07::5/64",
        " no shutdown",
        "interface GigabitEthernet0/1",
        " no ip address",
        " shutdown",
    ]
    assert " ipv6 address 2001:db8:ff07::5/64" not in ios.management_config(r, ipv6=False)
    seeded = inventory.seeded(r)
    assert ios.loopback_config(seeded) == [
        "interface Loopback0",
        " ip address 198.18.7.5 255.255.255.255",
    ]
    both = [r.loopback4, ipaddress.IPv4Interface("198.18.9.1/32"), r.loopback6]
    assert ios.loopback_config(both) == [
        "interface Loopback0",
        " ip address 198.18.7.5 255.255.255.255",
        " ip address 198.18.9.1 255.255.255.255 secondary",
        " ipv6 address 2001:db8:fe07::5/128",
    ]
    assert ios.loopback_config([]) == []


def test_lab_inventory_of_ios_routers_validates(tmp_path: Path) -> None:
    """IOS routers: Loopback0, user admin with the lab's key, the lab's enable secret in a
    group file readable by its owner only (validate warns about it, and never prints it)."""
    from loopbackctl import inventory as loader
    from loopbackctl.transport import credentials

    nodes = [node("h1")] + [node(f"ios{i}", "cisco_ios", i, host=i + 1) for i in (1, 2, 3)]
    extras = {"cisco_ios": {"secret": "s3cr3t-lab"}}
    hosts, groups = inventory.lab_documents(
        nodes, tmp_path / "id_ed25519", ["linux", "cisco_ios"], extras
    )
    assert hosts["ios3"]["data"]["loopbacks"] == [
        {"name": "Loopback0", "addresses": ["198.18.7.4/32", "2001:db8:fe07::4/128"]}
    ]
    assert groups["lab_ios"] == {
        "platform": "cisco_ios",
        "username": "admin",
        "connection_options": {"netmiko": {"extras": {
            "key_file": str(tmp_path / "id_ed25519"), "secret": "s3cr3t-lab"}}},
    }  # fmt: skip
    written = inventory.write(tmp_path / "inv", hosts, groups)
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in written}
    assert modes == {"hosts.yaml": 0o644, "groups.yaml": 0o600}
    inv, warnings = loader.load(str(tmp_path / "inv"))
    assert list(inv.hosts) == ["h1", "ios1", "ios2", "ios3"]
    assert [w.message for w in warnings] == [
        "plaintext secret in the inventory; remove it and set LOOPBACKCTL_SECRET"
    ]
    assert "s3cr3t-lab" not in str(warnings[0])
    creds = credentials.resolve(inv.hosts["ios2"], {})
    assert (creds.username, creds.secret, creds.password) == ("admin", "s3cr3t-lab", None)
    seeded = {n.name: [str(a) for a in inventory.seeded(n)] for n in nodes[1:]}
    assert seeded == {"ios1": ["198.18.7.2/32", "2001:db8:fe07::2/128"],
                      "ios2": ["198.18.7.3/32"], "ios3": []}  # fmt: skip


def test_lab_up_without_the_simulator_runs_without_ios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--ios K` where the simulator is not installed: one note, the rest is built; with
    nothing else to build, the note is the refusal."""
    from loopbackctl.errors import UsageError
    from loopbackctl.lab import prereq, service

    k = dataclasses.replace(kinds.kind("cisco_ios"), unavailable=lambda: NO_SIMULATOR)
    monkeypatch.setitem(kinds.registry(), "cisco_ios", k)
    monkeypatch.setattr(prereq, "require", lambda *a, **kw: None)  # no root needed here
    plan = service.prepare(service.UpRequest(dir=str(tmp_path / "a"), hosts=2, routers=0, ios=3))
    assert plan.devices == (("linux", "h1"), ("linux", "h2"))
    assert plan.notes == (f"no IOS routers: {NO_SIMULATOR}; the lab runs without them",)
    with pytest.raises(UsageError) as refused:
        service.prepare(service.UpRequest(dir=str(tmp_path / "b"), hosts=0, routers=0, ios=2))
    assert str(refused.value) == plan.notes[0]
    monkeypatch.setitem(
        kinds.registry(), "cisco_ios", dataclasses.replace(k, unavailable=lambda: None)
    )
    plan = service.prepare(service.UpRequest(dir=str(tmp_path / "c"), hosts=1, routers=0, ios=2))
    assert plan.devices == (("linux", "h1"), ("cisco_ios", "ios1"), ("cisco_ios", "ios2"))
    assert plan.notes == ()


def test_the_simulator_is_found_or_named_with_its_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def without(name: str, *args: object) -> object:
        return None if name == "tftpy" else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", without)
    assert ios.unavailable() == (
        "the IOS simulator is not installed (no Python module tftpy): "
        "pip install 'loopbackctl[lab]' && pip install --no-deps fake-switches==1.5.0"
    )

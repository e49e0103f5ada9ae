"""The lab's pure parts: the address plan, name patterns, the lab inventory, the twin's
connection override (no root needed)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from loopbackctl import platforms
from loopbackctl.errors import InventoryError
from loopbackctl.lab import addresses, fabric, frr, inventory, state, twin
from loopbackctl.lab.addresses import Slot, pick_slots, slots_needed
from loopbackctl.lab.errors import LabError
from loopbackctl.lab.node import Node

ROOT = Path(__file__).resolve().parent.parent


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
    assert not ns.fullmatch("lb0a1b2ch0") and not ns.fullmatch("lb0a1b2ch10000")
    assert not ns.fullmatch("lb0a1b2cx1") and not ns.fullmatch("lb0a1b2ch1x")
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


def test_twin_connection_wins_over_every_group(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "hosts.yaml").write_text(yaml.safe_dump({
        "web": {"hostname": "203.0.113.5", "port": 2222, "password": "p", "groups": ["g"],
                "data": {"loopbacks": [{"name": "lo", "addresses": ["198.18.200.9/32"]}],
                         "persist": "netplan", "netplan_dir": "/srv/netplan"}},
        "edge": {"hostname": "203.0.113.6", "platform": "cisco_ios", "username": "u"},
        "mx1": {"hostname": "203.0.113.7", "platform": "junos"},
    }))  # fmt: skip
    (src / "groups.yaml").write_text(yaml.safe_dump({
        "g": {"platform": "linux", "username": "ops", "connection_options": {"netmiko": {
            "hostname": "203.0.113.99", "port": 2200,
            "extras": {"ssh_config_file": "/prod/ssh_config", "key_file": "/prod/key"}}}},
    }))  # fmt: skip
    plan = twin.plan(str(src))
    assert plan.devices == (("linux", "web"),)
    assert plan.skipped == (("edge", "cisco_ios"), ("mx1", "junos"))
    assert "edge (cisco_ios)" in plan.notes()[0] and "mx1 (junos)" in plan.notes()[0]
    web = node("web")
    twin.write(plan, [web], tmp_path / "twin", Path("/lab/id_ed25519"))
    entry = yaml.safe_load((tmp_path / "twin" / "hosts.yaml").read_text())["web"]
    assert entry["connection_options"] == {"netmiko": {
        "hostname": web.ip4, "port": 22, "username": "root",
        "extras": {"key_file": "/lab/id_ed25519", "allow_agent": False}}}  # fmt: skip
    assert "password" not in entry
    assert entry["data"]["loopbacks"] == [{"name": "lo", "addresses": ["198.18.200.9/32"]}]
    assert entry["data"]["netplan_dir"] in ("/etc/netplan", str(web.netplan_dir))
    assert (tmp_path / "twin" / "groups.yaml").read_bytes() == (src / "groups.yaml").read_bytes()


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the FRR platform lands, a stand-in registered under that name (Linux's rules)
    lets the twin's router path run: FRR hosts become routers, IOS stays out."""
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
    assert plan.devices == (("linux", "h"), ("frr", "core1"), ("frr", "core2"))
    assert plan.skipped == (("pe1", "cisco_ios"),)

"""loopbackctl resolves an inventory exactly as Nornir's own SimpleInventory does.

Hosts, groups, platforms, connection fields, `get_connection_parameters(...)` (extras
included) and `data` (host[key], host.get, host.items()) must agree for the shipped
example and for tests/data/nornir, a richer inventory with nested groups, defaults and
overrides at every level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nornir.core.inventory import Inventory as NornirInventory
from nornir.plugins.inventory.simple import SimpleInventory

from loopbackctl import inventory
from loopbackctl.model import Inventory

HERE = Path(__file__).resolve().parent
LOCATIONS = [HERE.parent / "inventory", HERE / "data" / "nornir"]
FIELDS = ("hostname", "port", "username", "password", "platform")
CONNECTIONS = ("netmiko", "scrapli", "napalm")  # napalm: set nowhere


def both(location: Path) -> tuple[NornirInventory, Inventory]:
    nornir = SimpleInventory(
        host_file=str(location / "hosts.yaml"),
        group_file=str(location / "groups.yaml"),
        defaults_file=str(location / "defaults.yaml"),
    ).load()
    ours, _ = inventory.load(str(location))
    return nornir, ours


@pytest.mark.parametrize("location", LOCATIONS, ids=lambda p: p.name)
def test_same_hosts_groups_and_fields(location: Path) -> None:
    nornir, ours = both(location)
    assert list(ours.hosts) == list(nornir.hosts)
    assert set(ours.group_members) == set(nornir.groups)
    for name, nh in nornir.hosts.items():
        oh = ours.hosts[name]
        for f in FIELDS:
            assert getattr(oh, f) == getattr(nh, f), (name, f)
        assert list(oh.groups) == [g.name for g in nh.groups], name
    for group in nornir.groups:
        members = {n for n, h in nornir.hosts.items() if h.has_parent_group(group)}
        assert ours.group_members[group] == members, group


@pytest.mark.parametrize("location", LOCATIONS, ids=lambda p: p.name)
def test_same_data(location: Path) -> None:
    nornir, ours = both(location)
    for name, nh in nornir.hosts.items():
        data = dict(ours.hosts[name].data)
        assert data == dict(nh.items()), name
        assert list(data) == list(nh.keys()), name  # the same order, too
        for key, value in data.items():
            assert nh[key] == value, (name, key)
            assert nh.get(key) == value, (name, key)
        assert nh.get("no-such-key", "dflt") == data.get("no-such-key", "dflt")


def connection_parameters(location: Path, host: str, conn: str) -> dict[str, Any]:
    """`get_connection_parameters(conn)` as `loopbackctl inventory` resolves it."""
    _, _, explainer = inventory.explain(str(location))
    (view,) = explainer.views([host], {})
    params = view.connection_options.get(conn)
    if params is None:  # a connection set nowhere: the host's fields, no extras
        return {**{f: view.fields[f].value for f in FIELDS}, "extras": {}}
    return {f: v.value for f, v in params.items()}


def connection(location: Path, nh: Any, conn: str) -> tuple[dict[str, Any], dict[str, Any]]:
    p = nh.get_connection_parameters(conn)
    theirs = {f: getattr(p, f) for f in (*FIELDS, "extras")}
    return connection_parameters(location, nh.name, conn), theirs


@pytest.mark.parametrize("location", LOCATIONS, ids=lambda p: p.name)
@pytest.mark.parametrize("conn", CONNECTIONS)
def test_same_connection_parameters(location: Path, conn: str) -> None:
    nornir, _ = both(location)
    for nh in nornir.hosts.values():
        mine, theirs = connection(location, nh, conn)
        assert mine == theirs, (nh.name, conn)


def test_the_rich_inventory_exercises_every_level() -> None:
    """Guard the fixture: the equivalence above is only meaningful if values differ by level."""
    nornir, ours = both(HERE / "data" / "nornir")
    h = ours.hosts
    assert (h["r1"].platform, h["web2"].platform) == ("cisco_ios", "linux")  # group, defaults
    assert (h["r2"].port, h["r3"].port, h["r1"].port, h["web3"].port) == (2222, 2200, 22, 830)
    assert (h["r1"].username, h["r3"].username, h["web1"].username) == (
        "eu-ops",
        "r3-admin",
        "fleet",
    )
    assert (h["r2"].data["tier"], h["r4"].data["tier"], h["web1"].data["tier"]) == (2, 1, 4)
    assert (h["r1"].data["site"], h["r2"].data["site"], h["web2"].data["site"]) == (
        "global",
        "ams1",
        "default-site",
    )
    assert h["r3"].data["owner"] is None  # written as null on the host: it still wins
    rich = HERE / "data" / "nornir"
    r4 = connection_parameters(rich, "r4", "netmiko")
    # Nornir's connection-option quirk: core (and through it the defaults) before dmz.
    assert r4["port"] == 2022 and r4["extras"] == {"fast_cli": False}
    r2 = connection_parameters(rich, "r2", "netmiko")
    assert r2["extras"] == {"global_delay_factor": 2} and r2["username"] == "eu-netmiko"
    assert connection_parameters(rich, "r3", "netmiko")["hostname"] == "mgmt-proxy.example.net"
    assert connection_parameters(rich, "web3", "scrapli")["extras"] == {"transport": "asyncssh"}
    assert nornir.hosts["r4"].get_connection_parameters("netmiko").port == 2022

"""The model inventory.load builds: resolved fields, typed loopbacks, groups, warnings."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from loopbackctl import inventory
from loopbackctl.errors import InventoryError
from loopbackctl.model import Loopback

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "inventory"


def test_the_example_resolves_host_group_defaults() -> None:
    inv, warnings = inventory.load(str(EXAMPLE))
    assert warnings == []
    assert list(inv.hosts) == ["r1", "r2", "web1", "web2"]
    r1, web2 = inv.hosts["r1"], inv.hosts["web2"]
    assert (r1.platform, r1.username, r1.port, r1.hostname) == (
        "cisco_ios",
        "netops",
        22,
        "198.18.0.11",
    )
    assert (web2.platform, web2.username) == ("linux", "root")
    assert r1.data["site"] == "lab" and r1.data["connect_timeout"] == 10  # group, defaults
    assert web2.data["persist"] == "netplan"
    assert web2.connection_options["netmiko"]["extras"] == {"key_file": "~/.ssh/id_ed25519"}
    assert inv.group_members == {"core": {"r1", "r2"}, "servers": {"web1", "web2"}}
    assert inv.sources == tuple(
        str(EXAMPLE / f) for f in ("hosts.yaml", "groups.yaml", "defaults.yaml")
    )


def test_loopbacks_are_typed_and_in_inventory_order() -> None:
    inv, _ = inventory.load(str(EXAMPLE))
    lb0, lb1 = inv.hosts["r1"].loopbacks
    assert lb0 == Loopback(
        "Loopback0",
        (ipaddress.ip_interface("10.255.0.1/32"), ipaddress.ip_interface("2001:db8:ff::1/128")),
        description="router-id",
    )
    assert [str(a) for a in lb1.addresses] == ["10.255.1.1/32", "10.255.2.1/32"]  # primary first
    assert inv.hosts["r1"].predicted_router_id == ipaddress.IPv4Address("10.255.2.1")


def test_addresses_are_normalised_like_ipaddress(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(
        "r1:\n  platform: cisco_ios\n  data:\n    router_id: 10.9.9.9\n    loopbacks:\n"
        "      - name: Loopback0\n"
        '        addresses: ["2001:DB8:0:0::1/128", 10.0.0.1/255.255.255.255]\n'
        "        absent_addresses: [10.0.0.9/32]\n      - name: Loopback5\n        state: absent\n"
    )
    inv, _ = inventory.load(str(tmp_path))
    h = inv.hosts["r1"]
    assert [a.with_prefixlen for a in h.loopbacks[0].addresses] == [
        "2001:db8::1/128",
        "10.0.0.1/32",
    ]
    assert h.loopbacks[0].absent_addresses == (ipaddress.ip_interface("10.0.0.9/32"),)
    assert h.loopbacks[1] == Loopback("Loopback5", state="absent")
    assert h.router_id == h.predicted_router_id == ipaddress.IPv4Address("10.9.9.9")


def test_warnings_are_returned_sorted_and_errors_raised(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(
        "b:\n  platform: linux\n  password: x\na:\n  platform: linux\n  password: y\n"
    )
    _, warnings = inventory.load(str(tmp_path))
    assert [(w.mark.line, w.host, w.severity) for w in warnings] == [
        (3, "b", "warning"),
        (6, "a", "warning"),
    ]
    (tmp_path / "hosts.yaml").write_text("a:\n  platform: linux\n  password: y\n  port: 0\n")
    with pytest.raises(InventoryError) as info:
        inventory.load(str(tmp_path))
    assert [d.severity for d in info.value.diagnostics] == ["warning", "error"]
    assert str(info.value) == "1 error(s) in the inventory"


def test_default_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(inventory.ENV_INVENTORY, raising=False)
    assert inventory.default_path() == "inventory"
    monkeypatch.setenv(inventory.ENV_INVENTORY, "/srv/fleet")
    assert inventory.default_path() == "/srv/fleet"


def test_yml_extension_and_hosts_only_directory(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("web1:\n  platform: linux\n  groups: [g]\n")
    (tmp_path / "groups.yml").write_text("g:\n  port: 2222\n")
    inv, _ = inventory.load(str(tmp_path))
    assert inv.hosts["web1"].port == 2222


def test_marks_of_a_clean_large_file_are_read_only_when_needed(tmp_path: Path) -> None:
    """A clean file is parsed once without marks; an error found later still gets the
    exact line and column (the file is read again, with marks)."""
    lines = [f"h{i}:\n  platform: cisco_ios\n" for i in range(300)]
    lines.append(
        "bad:\n  platform: cisco_ios\n  data:\n    loopbacks:\n      - name: Loopback0\n"
        "        addresses: [10.0.0.1]\n"
    )
    (tmp_path / "hosts.yaml").write_text("".join(lines))
    with pytest.raises(InventoryError) as info:
        inventory.load(str(tmp_path))
    (d,) = info.value.diagnostics
    assert (d.mark.line, d.mark.col, d.host) == (606, 21, "bad")


def test_connection_parameters_fall_back_to_host_fields() -> None:
    _, _, explainer = inventory.explain(str(EXAMPLE))
    web1, r1 = explainer.views(["web1", "r1"], {})
    p = {k: v.value for k, v in web1.connection_options["netmiko"].items()}
    assert p == {
        "hostname": "198.18.0.21",
        "port": 22,
        "username": "root",
        "password": None,
        "platform": "linux",
        "extras": {"key_file": "~/.ssh/id_ed25519"},
    }
    assert "napalm" not in r1.connection_options  # set nowhere


def write(tmp: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    return tmp


MULTI_VENDOR = {
    "hosts.yaml": (
        "r1:\n  groups: [ios]\n  data:\n"
        "    loopbacks: [{name: Loopback0, addresses: [10.0.0.1/32]}]\n"
        "j1:\n  platform: junos\n"
        "e1:\n  platform: eos\n  data: {site: ams}\n"
        "x1:\n  hostname: 198.18.0.9\n"
        "r2:\n  platform: ios\n  connection_options: {netmiko: {platform: cisco_ios}}\n"
        "r3:\n  platform: junos\n  connection_options: {netmiko: {platform: linux}}\n"
        "r4:\n  platform: cisco_ios\n"
        "  connection_options: {netmiko: {platform: cisco_ios_telnet}}\n"
        "j2:\n  groups: [junos]\n"
    ),
    "groups.yaml": "ios:\n  platform: ios\njunos:\n  platform: junos\n",
}


def test_every_host_loads_managed_or_not(tmp_path: Path) -> None:
    inv, warnings = inventory.load(str(write(tmp_path, **MULTI_VENDOR)))
    assert warnings == []
    assert inv.names == ("r1", "j1", "e1", "x1", "r2", "r3", "r4", "j2")
    assert list(inv.hosts) == ["r1", "r2", "r3"]
    # The platform that drives a host: netmiko's override, else the host's (NAPALM names too).
    assert [inv.hosts[n].platform for n in ("r1", "r2", "r3")] == [
        "cisco_ios",
        "cisco_ios",
        "linux",
    ]
    assert {n: (u.platform, u.reason) for n, u in inv.unmanaged.items()} == {
        "j1": ("junos", "platform 'junos' is not one loopbackctl drives"),
        "e1": ("eos", "platform 'eos' is not one loopbackctl drives"),
        "x1": (None, "no platform"),
        "r4": (
            "cisco_ios_telnet",
            "connection_options.netmiko.platform 'cisco_ios_telnet' is not one loopbackctl drives",
        ),
        "j2": ("junos", "platform 'junos' is not one loopbackctl drives"),
    }
    assert inv.group_members == {"ios": {"r1"}, "junos": {"j2"}}
    assert inv.unmanaged["j2"].groups == ("junos",)


def test_an_unmanaged_host_that_declares_loopbacks_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "hosts.yaml": "j1:\n  groups: [junos]\nj2:\n  platform: junos\n  data:\n"
            "    loopbacks: []\nj3:\n  groups: [junos]\n  data: {loopbacks: null}\n",
            "groups.yaml": "junos:\n  platform: junos\n  data:\n    loopbacks: [{name: lo0}]\n",
        },
    )
    with pytest.raises(InventoryError) as info:
        inventory.load(str(tmp_path))
    found = [(d.mark.file.rsplit("/", 1)[1], d.mark.line, d.host) for d in info.value.diagnostics]
    # j1 inherits them from its group; j2 declares "none" itself; j3 hides them (null).
    assert found == [("groups.yaml", 4, "j1"), ("hosts.yaml", 6, "j2")]
    assert "it drives cisco_ios (or ios), cisco_xe, frr, linux" in info.value.diagnostics[0].message


def test_settings_directly_under_data_or_in_the_namespace(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "hosts.yaml": (
                "direct:\n  platform: linux\n  data:\n    purge: true\n    persist: netplan\n"
                "    loopbacks: [{name: lo, addresses: [198.18.9.1/32]}]\n    other: 1\n"
                "spaced:\n  platform: linux\n  groups: [g]\n  data:\n"
                "    loopbacks: [{id: 0, ip: 10.0.0.1}]\n    purge: maybe\n"
                "none:\n  platform: linux\n"
                "empty:\n  platform: linux\n  data: {loopbacks: []}\n"
            ),
            "groups.yaml": (
                "g:\n  data:\n    loopbackctl:\n      purge: true\n"
                "      loopbacks: [{name: lo, addresses: [198.18.9.2/32]}]\n"
            ),
        },
    )
    inv, warnings = inventory.load(str(tmp_path))
    assert warnings == []
    direct, spaced = inv.hosts["direct"], inv.hosts["spaced"]
    assert direct.settings == {
        "purge": True,
        "persist": "netplan",
        "loopbacks": [{"name": "lo", "addresses": ["198.18.9.1/32"]}],
    }
    assert direct.data["other"] == 1 and direct.purge and direct.declares_loopbacks
    # Namespaced: every other key under data is another tool's, kept as written.
    assert spaced.purge and spaced.declares_loopbacks
    assert [str(a) for a in spaced.loopbacks[0].addresses] == ["198.18.9.2/32"]
    assert spaced.data["loopbacks"] == [{"id": 0, "ip": "10.0.0.1"}]
    assert spaced.data["purge"] == "maybe" and set(spaced.settings) == {"purge", "loopbacks"}
    assert not inv.hosts["none"].declares_loopbacks
    assert inv.hosts["empty"].declares_loopbacks and inv.hosts["empty"].loopbacks == ()


def test_a_port_written_as_digits_is_a_number_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, **{"hosts.yaml": 'r1:\n  platform: ios\n  port: "2222"\n'})
    inv, warnings = inventory.load(str(tmp_path))
    assert inv.hosts["r1"].port == 2222
    assert [w.message for w in warnings] == [
        "port '2222' is text; netmiko reads it as the number 2222: write port: 2222"
    ]


def test_the_netmiko_override_picks_the_driver(tmp_path: Path) -> None:
    """NAPALM's `ios` with netmiko's `cisco_xe`: the IOS-XE driver, as nornir_netmiko
    would open a cisco_xe session."""
    write(
        tmp_path,
        **{
            "hosts.yaml": "xe1:\n  groups: [napalm]\n"
            "  connection_options: {netmiko: {platform: cisco_xe}}\nios1:\n  groups: [napalm]\n",
            "groups.yaml": "napalm:\n  platform: ios\n",
        },
    )
    inv, _ = inventory.load(str(tmp_path))
    assert (inv.hosts["xe1"].platform, inv.hosts["ios1"].platform) == ("cisco_xe", "cisco_ios")

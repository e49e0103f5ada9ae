"""Existing Nornir inventories load as they are, and resolve exactly as Nornir resolves them.

Each inventory of tests/data/nornir-corpus (written in the styles public Nornir projects
use: NAPALM and netmiko platform names, nested groups, hosts without a platform, other
tools' data, string ports, yes/no values, several connection plugins, a multi-vendor
lab...) is loaded by Nornir's own SimpleInventory and by `loopbackctl inventory --format
json`. The command must exit 0, and every host, group list, field, `data` value and
connection parameter must be what Nornir has (secrets compared as `***`; dates and
non-finite floats as the JSON document writes them). Managed hosts' `data` is also
compared in Python, exactly (types included).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nornir.core.inventory import Host as NornirHost
from nornir.plugins.inventory.simple import SimpleInventory

from loopbackctl import inventory
from loopbackctl.cli import main
from loopbackctl.inventory.view import SECRET, masked, plain

CORPUS = Path(__file__).parent / "data" / "nornir-corpus"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
FIELDS = ("hostname", "port", "username", "password", "platform")


def nornir_load(location: Path) -> Any:
    return SimpleInventory(
        host_file=str(location / "hosts.yaml"),
        group_file=str(location / "groups.yaml"),
        defaults_file=str(location / "defaults.yaml"),
    ).load()


def ours(location: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    rc = main(["inventory", "-i", str(location), "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "error" not in err
    return dict(json.loads(out))


def expected(key: str, value: Any) -> Any:
    """A Nornir value as the JSON document holds it."""
    shown = masked(key, value)
    return plain(shown)


def connection_names(nh: NornirHost) -> list[str]:
    """Every connection name the host's inheritance chain writes."""
    names: dict[str, None] = {"netmiko": None}
    for obj in (nh, *nh.extended_groups(), nh.defaults):
        names.update(dict.fromkeys(obj.connection_options))
    return list(names)


def compare_host(nh: NornirHost, mine: dict[str, Any]) -> int:
    """Assert that one host agrees; return how many values were compared."""
    compared = 0
    assert mine["groups"] == [g.name for g in nh.groups]
    assert mine["extended_groups"] == [g.name for g in nh.extended_groups()]
    for f in FIELDS:
        assert mine["fields"][f]["value"] == expected(f, getattr(nh, f)), (nh.name, f)
        compared += 1
    assert list(mine["data"]) == list(nh.keys()), nh.name
    for key, value in nh.items():
        assert mine["data"][key]["value"] == expected(key, value), (nh.name, key)
        compared += 1
    assert list(mine["connection_options"]) == connection_names(nh), nh.name
    for conn, params in mine["connection_options"].items():
        theirs = nh.get_connection_parameters(conn)
        for f in (*FIELDS, "extras"):
            assert params[f]["value"] == expected(f, getattr(theirs, f)), (nh.name, conn, f)
            compared += 1
    return compared


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_inventory_resolves_as_nornir(
    case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nornir = nornir_load(case)
    doc = ours(case, capsys)
    assert [h["name"] for h in doc["hosts"]] == list(nornir.hosts)
    for mine in doc["hosts"]:
        compare_host(nornir.hosts[mine["name"]], mine)
    inv, _ = inventory.load(str(case))
    assert set(inv.group_members) == set(nornir.groups)
    for name, host in inv.hosts.items():  # exactly, in Python, for the managed hosts
        assert dict(host.data) == dict(nornir.hosts[name].items()), name


def test_the_corpus_is_large_and_varied(capsys: pytest.CaptureFixture[str]) -> None:
    """At least 15 inventories; managed and unmanaged hosts; hundreds of values."""
    assert len(CASES) >= 15
    hosts = managed = compared = 0
    for case in CASES:
        nornir = nornir_load(case)
        doc = ours(case, capsys)
        for mine in doc["hosts"]:
            compared += compare_host(nornir.hosts[mine["name"]], mine)
        hosts += doc["summary"]["hosts"]
        managed += doc["summary"]["managed"]
    assert hosts - managed >= 20 and managed >= 20
    assert compared >= 600
    print(f"{len(CASES)} inventories, {hosts} hosts ({managed} managed), {compared} values")


def test_secrets_are_masked_but_present(capsys: pytest.CaptureFixture[str]) -> None:
    doc = ours(CORPUS / "foreign_data", capsys)
    r1 = next(h for h in doc["hosts"] if h["name"] == "r1")
    arista = next(h for h in doc["hosts"] if h["name"] == "arista1")
    assert r1["data"]["tacacs_key"]["value"] == SECRET
    assert arista["data"]["snmp"]["value"] == {"community": SECRET, "location": "B1-A4"}
    text = json.dumps(doc)
    assert "s3cr3t" not in text and "public" not in text

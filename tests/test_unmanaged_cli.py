"""Hosts loopbackctl does not manage, on the command line: validate counts them, render
and apply/verify skip them with one line (status `skipped` in JSON and JUnit), and
--limit that names one for apply/verify is a usage error. No device is contacted here:
every selected host is one that is skipped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from loopbackctl.cli import main

CORPUS = Path(__file__).parent / "data" / "nornir-corpus"
NAPALM = CORPUS / "napalm_names"
LAB = CORPUS / "multivendor_lab"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_validate_counts_the_hosts_it_does_not_manage(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["validate", "-i", str(LAB)], capsys)
    assert rc == 0
    assert out == (
        f"{LAB}: 7 host(s), 6 group(s): no errors; 4 managed, 3 not managed:"
        " 1 arista_eos, 1 cisco_nxos, 1 juniper_junos\n"
    )


def test_render_of_one_ios_host_beside_other_vendors(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["render", "-i", str(NAPALM), "--limit", "csr1"], capsys)
    assert (rc, out.splitlines()[0]) == (0, "### csr1 (cisco_ios) config")
    assert " ip address 10.255.10.1 255.255.255.255" in out
    rc, out, _ = run(["render", "-i", str(NAPALM)], capsys)
    assert "### vmx1: skipped, not managed: platform 'junos' is not one loopbackctl drives\n" in out
    rc, out, _ = run(["render", "-i", str(NAPALM), "--format", "json"], capsys)
    doc = json.loads(out)
    assert [h["name"] for h in doc["hosts"]] == ["csr1", "csr2"]
    assert [(s["name"], s["platform"]) for s in doc["skipped"]] == [
        ("vmx1", "junos"),
        ("veos1", "eos"),
        ("nx1", "nxos_ssh"),
    ]


def test_a_group_of_unmanaged_hosts_is_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["verify", "-i", str(LAB), "--limit", "junos,eos,nxos"], capsys)
    assert rc == 0
    assert out.splitlines()[-1] == "3 host(s): 3 skipped"
    rc, out, _ = run(["apply", "-i", str(LAB), "--limit", "*-r[345]", "--format", "json"], capsys)
    doc = json.loads(out)
    assert rc == 0 and doc["summary"]["skipped"] == 3 and doc["summary"]["total"] == 3
    assert doc["hosts"][0]["error"] == (
        "not managed: platform 'juniper_junos' is not one loopbackctl drives"
    )
    rc, out, _ = run(["verify", "-i", str(LAB), "--limit", "eos", "--format", "junit"], capsys)
    suite = ET.fromstring(out).find("testsuite")
    assert rc == 0 and suite is not None and suite.get("skipped") == "1"


def test_limit_naming_an_unmanaged_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("apply", "verify"):
        rc, out, err = run([command, "-i", str(LAB), "--limit", "ios-r1,junos-r3"], capsys)
        assert (rc, out) == (2, "")
        assert "--limit names a host loopbackctl does not manage (junos-r3: platform" in err
    rc, out, _ = run(["render", "-i", str(LAB), "--limit", "junos-r3"], capsys)
    assert rc == 0 and "junos-r3: skipped" in out

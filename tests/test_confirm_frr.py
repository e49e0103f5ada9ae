"""Confirm-or-revert on real FRR routers (zebra in network namespaces, each router with its
own sshd, /etc/frr and /var/run/frr: loopbackctl.lab): a confirmed apply stays after the
timeout and is written to frr.conf after the confirm; a change armed and never confirmed
is undone by the router itself (zebra's configuration and the kernel's lo as before,
frr.conf untouched); a failed read-back is rolled back and its revert job cancelled.

Never skipped: without root or FRR the fixture fails the test with the reason. Addresses
come from 198.18.0.0/15 and 2001:db8::/32 only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopbackctl.lab import frr, inventory, netns
from loopbackctl.lab.build import Lab, LabSpec
from loopbackctl.lab.node import Node
from tests.clirun import Run, run_cli
from tests.confirm_helpers import armed_and_abandoned, job_state, jobs, revert_pids
from tests.test_lab_routers import require_routers

EXTRA4 = "198.18.215.{}/32"
EXTRA6 = "2001:db8:215::{}/128"


@pytest.fixture(scope="module")
def routers() -> Iterator[Lab]:
    """r1-r2, each with its lab IPv4 loopback configured in zebra (and written)."""
    require_routers()
    netns.sigterm_to_keyboard_interrupt()
    spec = LabSpec.numbered(0, 2, topology="line", seeded=lambda n: [n.loopback4])
    with Lab(spec) as lab:
        yield lab


class Routers:
    def __init__(self, lab: Lab, tmp: Path) -> None:
        self.lab, self.dir = lab, tmp
        (tmp / "known_hosts").write_text("\n".join(lab.known_hosts_lines()) + "\n")

    def write(self, addresses: dict[str, list[str]]) -> Path:
        doc: dict[str, Any] = {}
        groups: dict[str, Any] = {}
        for node in self.lab.routers:
            lbs = [{"name": "lo", "addresses": addresses[node.name]}]
            doc[node.name] = inventory.host_entry(node, "lab_frr", {"loopbacks": lbs})
            groups["lab_frr"] = inventory.group_entry(
                self.lab.key_file, platform="frr", username="root"
            )
        inventory.write(self.dir / "inventory", doc, groups)
        return self.dir / "inventory"

    def run(self, *argv: str) -> Run:
        return run_cli(self.dir / "inventory", self.dir / "known_hosts", argv)


def state(node: Node) -> tuple[str, frozenset[str], str]:
    """What an independent look finds: zebra's `interface lo` block, the kernel's lo
    addresses, and frr.conf."""
    res = frr.vtysh(node, ["show running-config"])
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    start = lines.index("interface lo") if "interface lo" in lines else None
    block = ""
    if start is not None:
        end = lines.index("exit", start)
        block = "\n".join(lines[start:end])
    out = netns.run([netns.IP, "-n", node.netns, "-j", "addr", "show", "dev", "lo"])
    kernel = frozenset(
        f"{a['local']}/{a['prefixlen']}" for link in json.loads(out.stdout)
        for a in link.get("addr_info", [])
    )  # fmt: skip
    return block, kernel, (node.dir / "etc" / "frr.conf").read_text()


def wanted(lab: Lab) -> dict[str, list[str]]:
    return {
        n.name: [str(n.loopback4), str(n.loopback6), EXTRA4.format(i), EXTRA6.format(i)]
        for i, n in enumerate(lab.routers, start=1)
    }


def seeded(lab: Lab) -> dict[str, list[str]]:
    return {n.name: [str(n.loopback4)] for n in lab.routers}


@pytest.fixture
def fleet(routers: Lab, tmp_path: Path) -> Iterator[Routers]:
    f = Routers(routers, tmp_path)
    f.write(seeded(routers))
    assert f.run("apply", "--purge", "--no-confirm").rc == 0
    yield f
    f.write(seeded(routers))
    f.run("apply", "--purge", "--no-confirm")


def test_a_confirmed_apply_stays_and_is_saved_after_the_confirm(fleet: Routers) -> None:
    lab = fleet.lab
    fleet.write(wanted(lab))
    r = fleet.run("apply", "--confirm-timeout", "2", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert {h["status"] for h in r.doc["hosts"]} == {"changed"}
    after = {n.name: state(n) for n in lab.routers}
    for i, n in enumerate(lab.routers, start=1):
        block, kernel, conf = after[n.name]
        assert f" ip address {EXTRA4.format(i)}" in block.splitlines()
        assert EXTRA4.format(i) in kernel and EXTRA6.format(i) in kernel
        assert EXTRA4.format(i) in conf  # written after the confirm
        assert job_state(n) == [] and revert_pids(n) == []
    time.sleep(4)  # twice the timeout
    assert {n.name: state(n) for n in lab.routers} == after
    assert fleet.run("verify").rc == 0


def test_an_unconfirmed_change_is_undone_by_the_router(fleet: Routers) -> None:
    lab = fleet.lab
    before = {n.name: state(n) for n in lab.routers}
    # r2 also has an address the change removes (the inventory no longer names it).
    r2 = lab.routers[1]
    assert frr.vtysh(r2, ["configure terminal", "interface lo", "ip address 198.18.215.99/32"])
    frr.vtysh(r2, ["write memory"])
    before["r2"] = state(r2)
    assert "198.18.215.99/32" in before["r2"][1]
    lbs = wanted(lab)
    inv = fleet.write(lbs)
    hosts = inventory_doc(inv)
    hosts["r2"]["data"]["loopbacks"][0]["absent_addresses"] = ["198.18.215.99/32"]
    inventory.write(inv, hosts, inventory_groups(inv))
    todo = jobs(inv)
    pushed = {n.name: armed_and_abandoned(todo[n.name], 3.0) for n in lab.routers}
    assert any("no ip address 198.18.215.99/32" in c for c in pushed["r2"]), pushed
    changed = {n.name: state(n) for n in lab.routers}
    for n in lab.routers:
        assert changed[n.name][1] != before[n.name][1]
        assert changed[n.name][2] == before[n.name][2]  # frr.conf: not written before a confirm
        assert revert_pids(n)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(revert_pids(n) for n in lab.routers):
        time.sleep(0.5)
    assert {n.name: state(n) for n in lab.routers} == before
    for n in lab.routers:
        assert "reverted" in job_state(n)
        log = (n.host_dir / "revert" / "log").read_text()
        assert "reverted" in log and "failed" not in log, log
    r = fleet.run("verify", "--format", "json")
    assert {h["status"] for h in r.doc["hosts"]} == {"drift"}  # as before: not as intended


def test_a_failed_read_back_rolls_back_and_cancels_the_revert(
    fleet: Routers, tmp_path: Path
) -> None:
    lab = fleet.lab
    before = {n.name: state(n) for n in lab.routers}
    logs = {n.name: revert_log(n) for n in lab.routers}
    templates = tmp_path / "templates" / "frr"
    templates.mkdir(parents=True)
    # A template that leaves the IPv6 addresses out: the read-back fails.
    (templates / "loopbacks.j2").write_text(
        "{% for lb in loopbacks %}interface {{ lb.name }}\n"
        "{% for a in lb.ipv4 %} ip address {{ a }}\n{% endfor %}exit\n{% endfor %}"
    )
    fleet.write(wanted(lab))
    r = fleet.run(
        "apply", "--templates", str(tmp_path / "templates"), "--confirm-timeout", "3",
        "--format", "json",
    )  # fmt: skip
    assert r.rc == 1, r.out + r.err
    for h in r.doc["hosts"]:
        assert h["status"] == "failed" and h["rollback"] == "restored", h
        assert "by itself" not in h["error"]
    assert {n.name: state(n) for n in lab.routers} == before
    for n in lab.routers:
        assert revert_pids(n) == [] and set(job_state(n)) <= {"log"}
    time.sleep(4)  # past the timeout: nothing fires
    assert {n.name: state(n) for n in lab.routers} == before
    assert {n.name: revert_log(n) for n in lab.routers} == logs


def revert_log(node: Node) -> str:
    path = node.host_dir / "revert" / "log"
    return path.read_text() if path.exists() else ""


def inventory_doc(inv: Path) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load((inv / "hosts.yaml").read_text()))


def inventory_groups(inv: Path) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load((inv / "groups.yaml").read_text()))

"""FRR routers of the lab: real zebra/ospfd/staticd per namespace, an OSPF ring, reached
over SSH with their own vtysh and frr.conf; and a bed past one /24."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopbackctl.lab import frr, health, netns, prereq, state
from loopbackctl.lab.build import Lab, LabSpec
from loopbackctl.lab.node import Node


def require_routers() -> None:
    problems = prereq.missing(["frr"])
    if problems:
        pytest.fail("FRR lab unavailable: " + "; ".join(map(str, problems)), pytrace=False)


@pytest.fixture(scope="module")
def ring() -> Iterator[Lab]:
    """Three routers r1-r2-r3-r1 and a host, every router's loopback configured."""
    require_routers()
    netns.sigterm_to_keyboard_interrupt()
    spec = LabSpec.numbered(1, 3, seeded=lambda n: [n.loopback4, n.loopback6])
    with Lab(spec) as lab:
        wait_full(lab, 2)
        yield lab


def wait_full(lab: Lab, each: int, timeout: float = 30) -> None:
    """Until every router has `each` Full neighbors in OSPF and in OSPFv3."""
    deadline = time.monotonic() + timeout
    while True:
        states = {
            (r.name, proto): neighbors(r)
            for r in lab.routers
            for proto, neighbors in (("ospf", lab.ospf_neighbors), ("ospf6", lab.ospf6_neighbors))
        }
        if all(sum(s.startswith("Full") for s in v.values()) == each for v in states.values()):
            return
        assert time.monotonic() < deadline, f"OSPF did not converge: {states}"
        time.sleep(0.1)


def route(lab: Lab, router: str, prefix: str) -> dict[str, object]:
    res = lab.vtysh(router, f"show ip route {prefix} json")
    entries = json.loads(res.stdout).get(prefix, [])
    return dict(entries[0]) if entries else {}


def ssh(lab: Lab, node: Node, command: str) -> subprocess.CompletedProcess[str]:
    argv = ["ssh", "-i", str(lab.key_file), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", f"root@{node.ip4}", command]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def test_ospf_ring_routes_every_loopback_and_survives_a_cut(ring: Lab) -> None:
    r2_lo = str(ring["r2"].loopback4)
    first = route(ring, "r1", r2_lo)
    assert first["protocol"] == "ospf"
    assert first["installed"] is True
    direct = first["nexthops"][0]["interfaceName"]  # type: ignore[index]
    ring.cut_link("r1", "r2")
    try:
        deadline = time.monotonic() + 15
        while True:
            now = route(ring, "r1", r2_lo)
            hops = [h["interfaceName"] for h in now.get("nexthops", [])]  # type: ignore[attr-defined]
            if now.get("installed") and direct not in hops:
                break
            assert time.monotonic() < deadline, f"no reroute after the cut: {now}"
            time.sleep(0.1)
        assert now["protocol"] == "ospf"
        # The ring routes round: r1 -> r3 -> r2.
        assert now["nexthops"][0]["ip"] == str(  # type: ignore[index]
            ring.link_between("r1", "r3").addr_b.ip
            if ring.link_between("r1", "r3").a == "r1"
            else ring.link_between("r1", "r3").addr_a.ip
        )
    finally:
        ring.restore_link("r1", "r2")
    wait_full(ring, 2)


def test_a_routers_ssh_session_reaches_its_own_daemons_and_file(ring: Lab) -> None:
    etc = Path("/etc/frr/frr.conf")
    before = etc.read_bytes() if etc.exists() else b""
    for r in ring.routers:
        res = ssh(ring, r, "hostname; vtysh -c 'show ip ospf json'")
        assert res.returncode == 0, res.stderr
        name, doc = res.stdout.split("\n", 1)
        assert name == r.name
        assert json.loads(doc)["routerId"] == str(r.loopback4.ip)
    new = "198.18.254.77/32"
    res = ssh(ring, ring["r2"], f"vtysh -c 'configure terminal' -c 'interface lo' "
              f"-c 'ip address {new}' -c end -c 'write memory'")  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert f" ip address {new}" in ring.frr_conf("r2")
    assert f" ip address {new}" not in ring.frr_conf("r1")
    assert (etc.read_bytes() if etc.exists() else b"") == before
    assert ("inet", new) in ring.lo_addresses("r2")
    # Advertised: r3 learns it through OSPF.
    deadline = time.monotonic() + 10
    while route(ring, "r3", new).get("protocol") != "ospf":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_status_names_a_router_whose_daemon_died(ring: Lab) -> None:
    report = health.check(ring.state_dir)
    assert report.ok, report
    assert {d.name: d.ok for d in report.devices} == {
        "h1": True,
        "r1": True,
        "r2": True,
        "r3": True,
    }
    staticd = frr.daemon_pids(ring["r3"])["staticd"]
    assert staticd is not None
    netns.signal_and_wait([staticd])
    bad = {d.name: d for d in health.check(ring.state_dir).devices if not d.ok}
    assert list(bad) == ["r3"]
    assert "staticd not running" in bad["r3"].detail


def test_a_bed_past_one_slash24_uses_a_bridge_per_slot() -> None:
    require_routers()
    with Lab(LabSpec.numbered(260, 2)) as lab:
        prefix = lab.prefix
        assert len(lab.slots) == 2 and lab.link_slot is not None
        first, last = lab["h1"], lab["r2"]
        assert first.bridge != last.bridge
        assert first.slot.net4 != last.slot.net4
        assert last.ip4 == str(lab.slots[1].host4(9))  # devices 254.. in the second /24
        for node in (first, lab["h260"], last):
            res = ssh(lab, node, "hostname")
            assert res.stdout.strip() == node.name, res.stderr
    assert netns.netns_names(state.netns_pattern(prefix)) == []
    assert netns.link_names(state.link_pattern(prefix)) == []


def test_a_new_device_kind_is_one_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind that starts its devices itself (as the IOS simulator will): registered in
    one place, its namespaces are built, checked and removed like every other."""
    import dataclasses

    from loopbackctl.lab import kinds

    procs: list[subprocess.Popen[bytes]] = []

    def start(lab: Lab, nodes: list[Node]) -> None:
        for n in nodes:
            argv = [netns.IP, "netns", "exec", n.netns, "sleep", "600"]
            procs.append(subprocess.Popen(argv, start_new_session=True))

    def problems(lab: Lab, node: Node) -> list[str]:
        inside = netns.pids_in_netns([node.netns]).get(node.netns, [])
        return [] if inside else ["nothing runs"]

    sim = kinds.DeviceKind(name="sim", letter="s", title="simulated router", group="lab_sim",
                           start=start, problems=problems)  # fmt: skip
    monkeypatch.setitem(kinds.registry(), "sim", sim)
    spec = dataclasses.replace(LabSpec.numbered(1, 0), devices=(("linux", "h1"), ("sim", "s1")))
    with Lab(spec) as lab:
        prefix = lab.prefix
        assert lab["s1"].netns == f"{prefix}s1"
        assert state.netns_pattern(prefix).fullmatch(lab["s1"].netns)
        report = health.check(lab.state_dir)
        assert {d.name: (d.ok, d.detail) for d in report.devices}["s1"][0] is True
        assert ssh(lab, lab["h1"], "hostname").stdout.strip() == "h1"
    for p in procs:
        p.wait(timeout=10)
    assert netns.netns_names(state.netns_pattern(prefix)) == []

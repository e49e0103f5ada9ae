"""FRR routers end to end: real zebra/ospfd/ospf6d in network namespaces, each with its own
sshd (loopbackctl.lab), four of them in a line r1-r2-r3-r4 with OSPF fast timers.
`loopbackctl apply/verify [--routing]` run in this process against them.

Never skipped: without root or FRR the fixture fails the test with the reason. Every
address is in 198.18.0.0/15 or 2001:db8::/32 (the lab's plan); the mesh's echoes are sent
by the routers, inside their namespaces, to each other's loopbacks.
"""

from __future__ import annotations

import ipaddress
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopbackctl.lab import inventory, netns
from loopbackctl.lab.build import Lab, LabSpec
from loopbackctl.lab.node import Node
from loopbackctl.platforms.frr.parse import routes
from tests.clirun import Run, run_cli
from tests.test_lab_routers import require_routers

ROUTERS = ["r1", "r2", "r3", "r4"]


@pytest.fixture(scope="module")
def line() -> Iterator[Lab]:
    """r1-r2-r3-r4 (OSPFv2 and OSPFv3, router-id = lab loopback, configured), lo without
    addresses; two Linux hosts for the mixed fleet."""
    require_routers()
    netns.sigterm_to_keyboard_interrupt()
    spec = LabSpec.numbered(2, 4, topology="line", seeded=lambda n: [])
    with Lab(spec) as lab:
        yield lab


def loopbacks(node: Node, *extra: str) -> list[dict[str, Any]]:
    return [{"name": "lo", "addresses": [str(node.loopback4), str(node.loopback6), *extra]}]


@dataclass
class Fleet:
    lab: Lab
    dir: Path

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    def write(
        self,
        lbs: Mapping[str, list[dict[str, Any]]] | None = None,
        *,
        hosts: bool = False,
        data: Mapping[str, Mapping[str, Any]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """The routers (platform frr) with their lab loopbacks (or `lbs`), the Linux hosts
        with theirs when `hosts`, and `extra` hosts as given."""
        lbs = lbs or {}
        doc: dict[str, Any] = {}
        groups: dict[str, Any] = {}
        for node in self.lab.routers + (self.lab.hosts if hosts else []):
            d = {
                "loopbacks": lbs.get(node.name, loopbacks(node)),
                **(data or {}).get(node.name, {}),
            }
            doc[node.name] = inventory.host_entry(node, f"lab_{node.kind}", d)
            groups[f"lab_{node.kind}"] = inventory.group_entry(
                self.lab.key_file, platform=node.kind, username="root"
            )
        doc.update(extra or {})
        inventory.write(self.inventory, doc, groups)
        if not self.known_hosts.exists():
            self.known_hosts.write_text("\n".join(self.lab.known_hosts_lines()) + "\n")

    def run(self, *argv: str) -> Run:
        return run_cli(self.inventory, self.known_hosts, argv)


@pytest.fixture
def fleet(line: Lab, tmp_path: Path) -> Iterator[Fleet]:
    """The routers carrying their lab loopbacks, routes converged; put back afterwards."""
    f = Fleet(line, tmp_path)
    f.write()
    converge(f)
    yield f
    f.write()
    converge(f)


def converge(f: Fleet) -> None:
    """Apply the lab loopbacks and wait until every router routes every other's."""
    r = f.run("apply", "--format", "json")
    assert r.rc == 0, r.out + r.err
    wait_mesh(f.lab, ROUTERS)


def unrouted(lab: Lab, src: str, prefixes: list[str]) -> list[str]:
    """The prefixes `src` has no installed route to (one vtysh call, as the driver asks)."""
    asks = [f"show {'ipv6' if ':' in p else 'ip'} route {p} json" for p in prefixes]
    res = lab.vtysh(src, *asks)
    found = routes(res.stdout, [ipaddress.ip_interface(p) for p in prefixes])
    return [p for p, r in zip(prefixes, found, strict=True) if r is None or not r.installed]


def routed(lab: Lab, src: str, prefix: str) -> bool:
    return not unrouted(lab, src, [prefix])


def wait_mesh(lab: Lab, routers: list[str], timeout: float = 20) -> None:
    """Until every router has a route to every other's lab loopbacks."""
    deadline = time.monotonic() + timeout
    want = {a: [str(p) for b in routers if a != b for p in (lab[b].loopback4, lab[b].loopback6)]
            for a in routers}  # fmt: skip
    while True:
        missing = {a: m for a, ps in want.items() if (m := unrouted(lab, a, ps))}
        if not missing:
            return
        assert time.monotonic() < deadline, f"OSPF did not converge: {missing}"
        time.sleep(0.2)


def mesh_failures(r: Run) -> dict[tuple[str, str], set[str]]:
    """(source, peer) → the failed mesh checks' reasons, from a JSON report."""
    out: dict[tuple[str, str], set[str]] = {}
    for h in r.doc["hosts"]:
        for c in h["checks"]:
            if c["name"].startswith("mesh → ") and not c["ok"]:
                peer = c["name"].split()[2]
                out.setdefault((h["name"], peer), set()).add(c["detail"].split(": ", 1)[1])
    return out


# -- apply, and the routing truth --------------------------------------------------------


def test_apply_on_four_routers_then_routing_truth_holds(line: Lab, tmp_path: Path) -> None:
    f = Fleet(line, tmp_path)
    # Start from nothing: no address on any router's lo.
    for r in ROUTERS:
        conf = line.vtysh(r, "show running-config").stdout
        for a in (line[r].loopback4, line[r].loopback6):
            if f" address {a}" in conf:
                family = "ip" if a.version == 4 else "ipv6"
                line.vtysh(r, "configure terminal", "interface lo", f"no {family} address {a}")
    f.write()
    r = f.run("apply", "--check", "--diff")
    assert r.rc == 1, r.out
    assert "# r1: would send\ninterface lo\n ip address" in r.out
    r = f.run("apply", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert [h["status"] for h in r.doc["hosts"]] == ["changed"] * 4
    for name in ROUTERS:
        node = line[name]
        (sent,) = r.host(name)["commands"]
        assert sent == (
            f"vtysh -c 'configure terminal' -c 'interface lo' -c 'ip address {node.loopback4}'"
            f" -c 'ipv6 address {node.loopback6}' -c end"
        )
        # zebra owns them: on the kernel's lo, and saved in the router's own frr.conf.
        assert {("inet", str(node.loopback4)), ("inet6", str(node.loopback6))} <= (
            line.lo_addresses(node)
        )
        conf = line.frr_conf(node)
        assert f" ip address {node.loopback4}\n" in conf and " ip ospf area 0\n" in conf
    # The second apply sends nothing at all.
    again = f.run("apply", "--format", "json")
    assert again.rc == 0
    assert [(h["status"], h["commands"]) for h in again.doc["hosts"]] == [("ok", [])] * 4

    wait_mesh(line, ROUTERS)
    r = f.run("verify", "--routing", "--format", "json")
    assert r.rc == 0, r.out
    for h in r.doc["hosts"]:
        names = {c["name"]: c for c in h["checks"]}
        rid = str(line[h["name"]].loopback4.ip)
        assert names["router-id ospf"]["detail"] == f"{rid}, as intended (highest loopback IPv4)"
        assert names["router-id ospf6"]["ok"]
        assert names["router-ids in use"]["ok"]
        mesh = [c for c in h["checks"] if c["name"].startswith("mesh → ")]
        assert len(mesh) == 6 and all(c["ok"] for c in mesh)
        assert all("route via ospf" in c["detail"] and "echo answered" in c["detail"] for c in mesh)
        assert h["router_ids"] == [
            {"protocol": "ospf", "vrf": "default", "router_id": rid},
            {"protocol": "ospf6", "vrf": "default", "router_id": rid},
        ]
    # JUnit carries the same checks; a table run exits 0 too.
    junit = ET.fromstring(f.run("verify", "--routing", "--format", "junit").out)
    names = [tc.get("name") for tc in junit.iter("testcase")]
    assert names.count("router-id ospf") == 4 and sum(n.startswith("mesh") for n in names) == 24
    assert f.run("verify", "--routing").rc == 0


def test_a_cut_link_fails_the_mesh_for_exactly_the_pairs_that_lost_their_path(
    fleet: Fleet,
) -> None:
    lab = fleet.lab
    lab.cut_link("r2", "r3")
    try:
        deadline = time.monotonic() + 15
        while routed(lab, "r2", str(lab["r3"].loopback4)) or routed(
            lab, "r1", str(lab["r4"].loopback6)
        ):
            assert time.monotonic() < deadline, "OSPF did not notice the cut"
            time.sleep(0.2)
        r = fleet.run("verify", "--routing", "--format", "json")
        assert r.rc == 1
        lost = {(a, b) for a in ("r1", "r2") for b in ("r3", "r4")}
        lost |= {(b, a) for a, b in lost}
        failures = mesh_failures(r)
        assert set(failures) == lost
        assert set().union(*failures.values()) == {"no route"}
        assert {h["name"]: h["status"] for h in r.doc["hosts"]} == dict.fromkeys(ROUTERS, "drift")
        # The table names the pair and the reason.
        table = fleet.run("verify", "--routing")
        assert table.rc == 1
        r1 = next(line for line in table.out.splitlines() if line.startswith("r1 "))
        assert f"r1 → r3 {lab['r3'].loopback4}: no route" in r1
    finally:
        lab.restore_link("r2", "r3")
    wait_mesh(lab, ROUTERS)
    assert fleet.run("verify", "--routing").rc == 0


def test_a_stale_router_id_after_a_loopback_change(fleet: Fleet) -> None:
    lab = fleet.lab
    r3 = lab["r3"]
    old = r3.loopback4
    new = ipaddress.IPv4Interface((int(old.ip) + 100, 32))  # higher: the new router-id
    moved = {
        "r3": [
            {
                "name": "lo",
                "addresses": [str(new), str(r3.loopback6)],
                "absent_addresses": [str(old)],
            }
        ]
    }
    fleet.write(moved)
    # Before anything is sent, the plan says what happens to the router-id.
    r = fleet.run("apply", "--check", "--diff")
    assert r.rc == 1
    assert f"# r3: router-id {old.ip} -> {new.ip} (predicted from the loopbacks)" in r.out
    assert f"# r3: removes {old} from lo, which carries router-id {old.ip}" in r.out
    row = next(line for line in r.out.splitlines() if line.startswith("r3 "))
    assert f"router-id {old.ip} -> {new.ip}" in row
    r = fleet.run("apply", "--format", "json")
    assert r.rc == 0, r.out
    impact = [c for c in r.host("r3")["checks"] if c["name"] == "router-id impact"]
    assert impact and impact[0]["severity"] == "warning"

    # ospfd keeps its configured router-id: stale, never silently, with what applies it.
    r = fleet.run("verify", "--routing", "--format", "json")
    assert r.rc == 1
    checks = {c["name"]: c for c in r.host("r3")["checks"]}
    assert not checks["router-id ospf"]["ok"]
    assert checks["router-id ospf"]["detail"] == (
        f"stale router-id: ospf uses {old.ip}, intended {new.ip} (highest loopback IPv4);"
        f" `ospf router-id {old.ip}` is configured under `router ospf`: set `ospf router-id"
        f" {new.ip}`, then `clear ip ospf process` applies it (it resets the ospf process)"
    )
    assert "`clear ipv6 ospf6 process`" in checks["router-id ospf6"]["detail"]
    assert r.host("r3")["status"] == "drift"
    assert all(h["status"] == "ok" for h in r.doc["hosts"] if h["name"] != "r3")

    # Doing what it says makes the routing truth hold again.
    for proto, clear in (("ospf", "clear ip ospf process"), ("ospf6", "clear ipv6 ospf6 process")):
        res = lab.vtysh("r3", "configure terminal", f"router {proto}",
                        f"{proto} router-id {new.ip}", "end", clear)  # fmt: skip
        assert res.returncode == 0, res.stdout
    try:
        deadline = time.monotonic() + 20
        while True:
            r = fleet.run("verify", "--routing", "--format", "json")
            if r.rc == 0:
                break
            assert time.monotonic() < deadline, r.out
            time.sleep(0.5)
        checks = {c["name"]: c for c in r.host("r3")["checks"]}
        assert (
            checks["router-id ospf"]["detail"] == f"{new.ip}, as intended (highest loopback IPv4)"
        )
    finally:
        for proto, clear in (
            ("ospf", "clear ip ospf process"),
            ("ospf6", "clear ipv6 ospf6 process"),
        ):
            lab.vtysh("r3", "configure terminal", f"router {proto}",
                      f"{proto} router-id {old.ip}", "end", clear)  # fmt: skip


def test_a_duplicate_router_id_collides(fleet: Fleet) -> None:
    lab = fleet.lab
    r1_id = lab["r1"].loopback4.ip
    r4_id = lab["r4"].loopback4.ip
    res = lab.vtysh("r4", "configure terminal", "router ospf", f"ospf router-id {r1_id}", "end",
                    "clear ip ospf process")  # fmt: skip
    assert res.returncode == 0, res.stdout
    try:
        deadline = time.monotonic() + 10
        while f'"routerId":"{r1_id}"' not in lab.vtysh("r4", "show ip ospf json").stdout:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        r = fleet.run("verify", "--routing", "--format", "json")
        assert r.rc == 1
        for me, other in (("r1", "r4"), ("r4", "r1")):
            clash = [c for c in r.host(me)["checks"] if c["name"] == "router-id collision"]
            assert [c["detail"] for c in clash] == [
                f"ospf router-id {r1_id} is also used by {other}"
            ], clash
            assert r.host(me)["status"] == "drift"
        # r4 is also stale against its own loopback; r1's OSPFv3 (same id) is another
        # protocol: no clash.
        checks = {c["name"]: c for c in r.host("r4")["checks"]}
        assert checks["router-id ospf"]["detail"].startswith(
            f"stale router-id: ospf uses {r1_id}, intended {r4_id}"
        )
        assert checks["router-id ospf6"]["ok"]
        assert not [c for c in r.host("r2")["checks"] if c["name"] == "router-id collision"]
    finally:
        lab.vtysh("r4", "configure terminal", "router ospf", f"ospf router-id {r4_id}", "end",
                  "clear ip ospf process")  # fmt: skip
    wait_mesh(lab, ROUTERS)


def test_vtysh_refusing_a_command_rolls_back(fleet: Fleet, tmp_path: Path) -> None:
    lab = fleet.lab
    before_conf = lab.frr_conf("r2")
    before_lo = lab.lo_addresses("r2")
    before_run = lab.vtysh("r2", "show running-config").stdout
    templates = tmp_path / "templates" / "frr"
    templates.mkdir(parents=True)
    # A template whose last line FRR refuses: the address before it goes in, then vtysh
    # stops at the refused line.
    (templates / "loopbacks.j2").write_text(
        "{% for lb in loopbacks %}\ninterface {{ lb.name }}\n"
        "{% for a in lb.ipv4 %}\n ip address {{ a }}\n{% endfor %}\n"
        "{% for a in lb.ipv6 %}\n ipv6 address {{ a }}\n{% endfor %}\n"
        " ip ospf cost not-a-number\nexit\n{% endfor %}\n"
    )
    added = "198.18.251.2/32"
    fleet.write({"r2": loopbacks(lab["r2"], added)})
    r = run_cli(fleet.inventory, fleet.known_hosts, ["apply", "--limit", "r2", "--format",
                "json"], global_args=["--templates", str(tmp_path / "templates")])  # fmt: skip
    assert r.rc == 1, r.out
    h = r.host("r2")
    assert h["status"] == "failed"
    assert "FRR refused the change (vtysh): % " in h["error"]
    assert h["rollback"] == "restored"
    assert h["commands"][0].startswith("vtysh -c 'configure terminal' -c 'interface lo'")
    assert f"ip address {added}" in h["commands"][0]
    # The router as before: lo, the running configuration and frr.conf.
    assert lab.lo_addresses("r2") == before_lo
    assert lab.vtysh("r2", "show running-config").stdout == before_run
    assert lab.frr_conf("r2") == before_conf


def test_zebra_and_the_kernel_disagreeing_is_drift_and_purge(fleet: Fleet) -> None:
    lab = fleet.lab
    r1 = lab["r1"]
    # Removed behind zebra's back: zebra still has it configured.
    lab.exec("r1", ["ip", "address", "del", str(r1.loopback4), "dev", "lo"], check=True)
    r = fleet.run("verify", "--format", "json")
    assert r.rc == 1
    checks = {c["name"]: c for c in r.host("r1")["checks"]}
    assert checks[f"lo {r1.loopback4}"]["detail"] == (
        f"{r1.loopback4} missing: zebra has it configured, the kernel's lo lacks it;"
        " apply configures it again"
    )
    r = fleet.run("apply", "--format", "json")
    assert r.rc == 0, r.out
    assert r.host("r1")["status"] == "changed"
    assert ("inet", str(r1.loopback4)) in lab.lo_addresses("r1")
    # An address someone else configured in zebra: left alone, then purged.
    other = "198.18.252.1/32"
    lab.vtysh("r1", "configure terminal", "interface lo", f"ip address {other}")
    r = fleet.run("verify", "--format", "json")
    assert r.rc == 0 and r.host("r1")["unmanaged"] == [other]
    assert fleet.run("apply", "--format", "json").host("r1")["commands"] == []
    r = fleet.run("apply", "--purge", "--format", "json")
    assert r.rc == 0
    assert f"ip address {other}" in r.host("r1")["commands"][0]
    assert ("inet", other) not in lab.lo_addresses("r1")
    assert f" ip address {other}" not in lab.vtysh("r1", "show running-config").stdout
    assert " ip ospf area 0" in lab.vtysh("r1", "show running-config").stdout


def test_a_mixed_fleet_in_one_run(fleet: Fleet) -> None:
    from netmiko import ConnectHandler

    from tests.iossim import DeviceSpec, IosSimBed

    specs = [DeviceSpec(f"ios{i}") for i in (1, 2)]
    with IosSimBed(devices=specs) as sim:
        # 10.x addresses are data sent to the simulator only.
        ios = {
            d.name: {
                "hostname": d.host,
                "port": d.port,
                "platform": "cisco_ios",
                "username": d.username,
                "password": d.password,
                "connection_options": {"netmiko": {"extras": {"secret": d.secret}}},
                "data": {"loopbacks": [{"name": "Loopback0", "addresses": [f"10.255.9.{i}/32"]}]},
            }
            for i, d in enumerate(sim.sim_devices, 1)
        }
        fleet.write(hosts=True, extra=ios)
        r = fleet.run("apply", "--format", "json")
        assert r.rc == 0, r.out + r.err
        status = {h["name"]: (h["platform"], h["status"]) for h in r.doc["hosts"]}
        assert status == {
            **{n: ("frr", "ok") for n in ROUTERS},
            "h1": ("linux", "changed"),
            "h2": ("linux", "changed"),
            "ios1": ("cisco_ios", "changed"),
            "ios2": ("cisco_ios", "changed"),
        }
        # ios1 starts OSPF now: it takes its router-id from Loopback0; ios2 runs none.
        sim.apply("ios1", ["router ospf 1", " network 10.255.9.0 0.0.0.255 area 0"])
        r = fleet.run("verify", "--routing", "--format", "json")
        assert r.rc == 0, r.out
        for h in r.doc["hosts"]:
            names = [c["name"] for c in h["checks"]]
            by_name = {c["name"]: c for c in h["checks"]}
            if h["platform"] == "frr":
                # The mesh is among the routers that can be asked: the FRR ones.
                peers = {n.split()[2] for n in names if n.startswith("mesh → ")}
                assert peers == set(ROUTERS) - {h["name"]}
            elif h["platform"] == "cisco_ios":
                # Asked for router-ids; the mesh is not measured on IOS (the simulator has
                # no forwarding plane), nor towards IOS.
                assert by_name["mesh"]["severity"] == "info"
                assert not any(n.startswith("mesh → ") for n in names)
            else:
                assert not any(n.startswith(("mesh", "router-id", "routing")) for n in names)
        ios_checks = {h["name"]: {c["name"]: c for c in h["checks"]} for h in r.doc["hosts"]}
        assert ios_checks["ios1"]["router-id ospf"]["detail"] == (
            "10.255.9.1, as intended (highest loopback IPv4)"
        )
        assert ios_checks["ios1"]["router-ids in use"]["ok"]
        assert ios_checks["ios2"]["routing"]["detail"].startswith("no routing protocol runs")
        # Collisions are judged across platforms: ios2 made to use r1's OSPF router-id.
        r1_id = fleet.lab["r1"].loopback4.ip
        sim.apply("ios2", ["router ospf 1", f" router-id {r1_id}"])
        with ConnectHandler(**sim["ios2"].netmiko_params()) as conn:  # IOS takes it then
            conn.enable()
            conn.send_command_timing("clear ip ospf process")
            conn.send_command_timing("yes")
        r = fleet.run("verify", "--routing", "--format", "json")
        assert r.rc == 1
        for me, other in (("r1", "ios2"), ("ios2", "r1")):
            clash = [
                c["detail"] for c in r.host(me)["checks"] if c["name"] == "router-id collision"
            ]
            assert clash == [f"ospf router-id {r1_id} is also used by {other}"]
        assert yaml.safe_load((fleet.inventory / "hosts.yaml").read_text())["h1"]["groups"] == [
            "lab_linux"
        ]

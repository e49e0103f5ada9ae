"""IOS apply pushes what the templates render, end to end against the simulator: template
extras converge and go away, VRF loopbacks (IOS removes the addresses on a VRF change and
says so), rollback to the blocks read before, write memory's questions, routers without
IPv6. The 10.x addresses below are data sent to the simulator only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopbackctl import render
from loopbackctl.model import Host, Loopback
from loopbackctl.result import HostResult
from loopbackctl.runner import Job, run_host
from loopbackctl.transport.options import ConnectOptions
from tests.clirun import Run, run_cli
from tests.iossim import DeviceSpec, IosSimBed
from tests.test_ios_fleet import PASSWORD, SECRET, Fleet, config_sessions, lo0, startup

ROUTERS = ["r1", "r2", "r3"]
VRFS = [
    "vrf definition RED",
    " address-family ipv4",
    " exit-address-family",
    " address-family ipv6",
    " exit-address-family",
    "vrf definition BLUE",
    " address-family ipv4",
    " exit-address-family",
    " address-family ipv6",
    " exit-address-family",
]


@pytest.fixture(scope="module")
def bed() -> Iterator[IosSimBed]:
    specs = [
        DeviceSpec(name, password=PASSWORD, secret=SECRET, startup_config=[*VRFS, *startup(i)])
        for i, name in enumerate(ROUTERS, 1)
    ]
    with IosSimBed(devices=specs) as b:
        yield b


@pytest.fixture
def fleet(bed: IosSimBed, tmp_path: Path) -> Fleet:
    for name in ROUTERS:
        bed.reset(name)
    return Fleet(bed, tmp_path)


def block(bed: IosSimBed, name: str, interface: str) -> list[str]:
    """The interface's block of the running configuration, as the router prints it."""
    lines = bed.state(name)["running_config"].splitlines()
    start = lines.index(f"interface {interface}")
    end = lines.index("!", start)
    return lines[start:end]


def with_templates(fleet: Fleet, templates: str, *argv: str) -> Run:
    env = {"LOOPBACKCTL_PASSWORD": PASSWORD, "LOOPBACKCTL_SECRET": SECRET}
    known = fleet.dir / "known_hosts"
    return run_cli(fleet.inventory, known, argv, env, global_args=("--templates", templates))


def extras_template(where: Path, *extra: str) -> Path:
    shipped = (render.shipped_templates()["cisco_ios"] / "loopbacks.j2").read_text()
    marker = ' {{ "shutdown" if'
    assert marker in shipped
    (where / "cisco_ios").mkdir(parents=True, exist_ok=True)
    text = shipped.replace(marker, "".join(f" {e}\n" for e in extra) + marker)
    (where / "cisco_ios" / "loopbacks.j2").write_text(text)
    return where


# -- template extras --------------------------------------------------------------------


def test_template_extras_reach_the_router_converge_and_go_away(fleet: Fleet) -> None:
    bed = fleet.bed
    fleet.write({"r1": [lo0(1)]})
    tpl = str(extras_template(fleet.dir / "tpl", "ip ospf 1 area 0", "ip pim sparse-mode"))
    first = with_templates(fleet, tpl, "apply", "--format", "json")
    assert first.rc == 0, first.out
    assert first.host("r1")["status"] == "changed"
    assert first.host("r1")["commands"] == [
        "interface Loopback0",
        " ip ospf 1 area 0",
        " ip pim sparse-mode",
        "write memory",
    ]
    assert block(bed, "r1", "Loopback0") == [
        "interface Loopback0",
        " description router-id",
        " ip address 10.255.0.1 255.255.255.255",
        " ip pim sparse-mode",
        " ip ospf 1 area 0",
        " ipv6 address 2001:DB8:FF::1/128",
    ]
    lines = config_sessions(bed, "r1")
    second = with_templates(fleet, tpl, "apply", "--format", "json")
    assert second.rc == 0 and second.host("r1")["status"] == "ok"
    assert second.host("r1")["commands"] == []
    assert config_sessions(bed, "r1") == lines, "a configuration command was sent"
    assert with_templates(fleet, tpl, "verify").rc == 0
    # Without the override, the shipped template says nothing of OSPF or PIM: they go.
    drift = fleet.run("verify", "--format", "json").host("r1")
    assert drift["status"] == "drift"
    (check,) = [c for c in drift["checks"] if c["name"] == "configuration"]
    assert "no ip ospf 1 area 0" in check["detail"] and "no ip pim sparse-mode" in check["detail"]
    third = fleet.run("apply", "--format", "json")
    assert third.rc == 0
    assert third.host("r1")["commands"] == [
        "interface Loopback0",
        " no ip pim sparse-mode",
        " no ip ospf 1 area 0",
        "write memory",
    ]
    assert bed.interface("r1", "Loopback0")["extras"] == []  # type: ignore[index]


def test_a_template_laying_out_another_interface_stops_the_run(fleet: Fleet) -> None:
    fleet.write({"r1": [{"name": "Loopback0", "addresses": ["10.255.0.1/32"]}]})
    where = fleet.dir / "tpl"
    (where / "cisco_ios").mkdir(parents=True)
    (where / "cisco_ios" / "loopbacks.j2").write_text("interface GigabitEthernet0/0\n shutdown\n")
    before = fleet.bed.state("r1")["running_config"]
    run = with_templates(fleet, str(where), "apply")
    assert run.rc == 2, run.out
    assert "GigabitEthernet0/0" in run.err and "only the `interface LoopbackN` blocks" in run.err
    assert fleet.bed.state("r1")["running_config"] == before
    known = fleet.dir / "known_hosts"
    assert not known.exists() or known.read_text() == ""  # nobody was contacted


def test_check_diff_shows_the_extras_as_block_lines(fleet: Fleet) -> None:
    fleet.write({"r2": [lo0(2)]})
    tpl = str(extras_template(fleet.dir / "tpl", "ip ospf 1 area 0"))
    run = with_templates(fleet, tpl, "apply", "--check", "--diff")
    assert run.rc == 1
    out = run.out.splitlines()
    assert "+ ip ospf 1 area 0" in out
    start = out.index("# r2: would send")
    assert out[start + 1 : start + 3] == ["interface Loopback0", " ip ospf 1 area 0"]
    assert fleet.bed.interface("r2", "Loopback0")["extras"] == []  # type: ignore[index]


# -- VRF loopbacks (through the runner: the inventory's `vrf` key comes with its own
# change) ---------------------------------------------------------------------------------


def host(bed: IosSimBed, name: str, *loopbacks: Loopback) -> Host:
    dev = bed[name]
    return Host(
        name,
        "cisco_ios",
        hostname=dev.host,
        port=dev.port,
        username=dev.username,
        password=PASSWORD,
        connection_options={"netmiko": {"extras": {"secret": SECRET}}},
        loopbacks=loopbacks,
    )


def loopback(name: str, *addrs: str, **kw: Any) -> Loopback:
    return Loopback(name, tuple(ipaddress.ip_interface(a) for a in addrs), **kw)


def run(h: Host, tmp: Path, mode: str = "apply", **job: Any) -> HostResult:
    artifacts = render.render_host(render.environment(job.pop("templates", None)), h)
    options = ConnectOptions(known_hosts=str(tmp / "known_hosts"), command_timeout=10.0)
    return run_host(Job(h, mode, options, artifacts, **job))  # type: ignore[arg-type]


def test_vrf_change_re_adds_the_addresses_in_the_same_push(fleet: Fleet) -> None:
    bed = fleet.bed
    lo = loopback(
        "Loopback0", "10.255.0.3/32", "2001:db8:ff::3/128", description="router-id", vrf="RED"
    )
    h = host(bed, "r3", lo)
    res = run(h, fleet.dir)
    assert res.status == "changed", res.error
    assert res.changes == ["Loopback0: forward in VRF RED"]
    assert res.commands == [
        "interface Loopback0",
        " vrf forwarding RED",
        " ip address 10.255.0.3 255.255.255.255",
        " ipv6 address 2001:db8:ff::3/128",
        "write memory",
    ]
    assert block(bed, "r3", "Loopback0") == [
        "interface Loopback0",
        " description router-id",
        " vrf forwarding RED",
        " ip address 10.255.0.3 255.255.255.255",
        " ipv6 address 2001:DB8:FF::3/128",
    ]
    # IOS said it removed the addresses: expected, so not a refusal.
    assert run(h, fleet.dir).status == "ok"
    assert run(h, fleet.dir, "verify").status == "ok"
    # Moved to another VRF behind loopbackctl's back: verify names the VRF.
    bed.apply(
        "r3",
        ["interface Loopback0", " vrf forwarding BLUE", " ip address 10.255.0.3 255.255.255.255"],
    )
    drift = run(h, fleet.dir, "verify")
    assert drift.status == "drift"
    failed = {c.name: c.detail for c in drift.failed_checks}
    assert failed["Loopback0 vrf"] == "in VRF BLUE, not VRF RED"
    assert "Loopback0 2001:db8:ff::3/128" in failed
    # And back to the global table.
    back = run(
        host(bed, "r3", loopback("Loopback0", "10.255.0.3/32", description="rid")), fleet.dir
    )
    assert back.status == "changed", back.error
    assert back.commands[:3] == [
        "interface Loopback0",
        " no vrf forwarding BLUE",
        " description rid",
    ]
    assert bed.interface("r3", "Loopback0")["vrf"] is None  # type: ignore[index]


def test_same_address_in_two_vrfs_of_one_router(fleet: Fleet) -> None:
    bed = fleet.bed
    h = host(
        bed,
        "r2",
        loopback("Loopback0", "10.255.0.2/32", "2001:db8:ff::2/128", description="router-id"),
        loopback("Loopback1", "10.255.0.2/32", vrf="RED"),
        loopback("Loopback2", "10.255.0.2/32", vrf="BLUE"),
    )
    res = run(h, fleet.dir)
    assert res.status == "changed", res.error
    assert run(h, fleet.dir).status == "ok"
    assert res.router_id == "10.255.0.2"


def test_vrf_from_the_inventory_through_the_command_line(fleet: Fleet) -> None:
    # The inventory's `vrf` key, as a user writes it: one apply, then nothing to do.
    fleet.write(
        {
            "r1": [
                {"name": "Loopback0", "addresses": ["10.255.0.1/32"], "description": "rid"},
                {"name": "Loopback5", "vrf": "RED", "addresses": ["10.255.0.1/32"]},
            ]
        }
    )
    first = with_templates(fleet, str(fleet.dir), "apply", "--format", "json")
    assert first.rc == 0, first.out
    assert " vrf forwarding RED" in first.host("r1")["commands"]
    assert bed_vrf(fleet.bed, "r1", "Loopback5") == "RED"
    again = with_templates(fleet, str(fleet.dir), "apply", "--format", "json")
    assert (again.rc, again.host("r1")["status"], again.host("r1")["commands"]) == (0, "ok", [])
    assert with_templates(fleet, str(fleet.dir), "verify").rc == 0


def bed_vrf(bed: IosSimBed, name: str, interface: str) -> str | None:
    return bed.interface(name, interface)["vrf"]  # type: ignore[index,no-any-return]


def test_refused_line_after_a_vrf_change_restores_the_blocks_exactly(fleet: Fleet) -> None:
    bed = fleet.bed
    before = bed.state("r1")
    lo = loopback("Loopback0", "10.255.0.1/32", "10.255.9.1/32", "2001:db8:ff::1/128", vrf="RED")
    bed.add_fault("r1", match="ip address 10.255.9.1 255.255.255.255 secondary")
    res = run(host(bed, "r1", lo), fleet.dir)
    assert res.status == "failed"
    assert res.rollback == "restored", res.error
    after = bed.state("r1")
    assert after["running_config"] == before["running_config"]
    assert [dict(i, address_source=None) for i in after["interfaces"]] == [
        dict(i, address_source=None) for i in before["interfaces"]
    ]


def test_an_unexpected_vrf_notice_is_a_refusal(fleet: Fleet) -> None:
    bed = fleet.bed
    bed.add_fault(
        "r2",
        match="description other",
        message="% Interface Loopback0 IPv4 disabled and address(es) removed due to "
        "enabling VRF RED",
    )
    res = run(host(bed, "r2", loopback(*lo0_addrs(2), description="other")), fleet.dir)
    assert res.status == "failed"
    assert "IOS said, unasked: % Interface Loopback0 IPv4 disabled" in (res.error or "")
    assert bed.interface("r2", "Loopback0")["description"] == "router-id"  # type: ignore[index]


def lo0_addrs(i: int) -> tuple[str, str, str]:
    return ("Loopback0", f"10.255.0.{i}/32", f"2001:db8:ff::{i}/128")


# -- write memory's questions, routers without IPv6 --------------------------------------


def test_write_memory_confirmation_is_answered(fleet: Fleet) -> None:
    bed = fleet.bed
    bed.switch("r1", save_prompts=True)
    assert "[confirm]" in bed.run("r1", "write memory")
    saves = bed.state("r1")["save_count"]
    fleet.write({"r1": [lo0(1, description="saved with a question")]})
    run_ = fleet.run("apply", "--format", "json")
    assert run_.rc == 0, run_.out
    state = bed.state("r1")
    assert state["save_count"] == saves + 1 and state["saved"]


def test_router_without_ipv6(fleet: Fleet) -> None:
    bed = fleet.bed
    bed.apply("r2", ["interface Loopback0", " no ipv6 address"])
    bed.switch("r2", ipv6=False)
    assert "% Invalid input" in bed.run("r2", "show ipv6 interface brief")
    fleet.write({"r2": [lo0(2, addresses=["10.255.0.2/32"])]})
    assert fleet.run("verify").rc == 0
    fleet.write({"r2": [lo0(2, addresses=["10.255.0.2/32", "10.255.5.2/32"])]})
    assert fleet.run("apply").rc == 0
    fleet.write({"r2": [lo0(2)]})
    asked = fleet.run("verify", "--format", "json").host("r2")
    assert asked["status"] == "failed"
    assert asked["error"] == (
        "r2: the router has no IPv6 ('show ipv6 interface brief' answered \"% Invalid input "
        "detected at '^' marker.\") but the inventory gives Loopback0 IPv6 addresses; configure "
        "IPv6 on the router or remove them from the inventory"
    )

"""verify --routing on Cisco IOS: the driver's readers against real outputs (tests/data/
ios-samples), and end to end over SSH against simulated routers running OSPF and BGP
(tests/iossim): the router-id as configured, a duplicate across two routers, a stale one
after a loopback change with the remedy IOS needs, and passing again once the test has
sent that remedy (`clear ip ospf process`, confirmed; `clear ip bgp *`) through netmiko.

The simulator has no forwarding plane: the mesh is an info check on IOS routers. The
10.x addresses below are data sent to the simulator only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netmiko import ConnectHandler

from loopbackctl.platforms.cisco_ios import parse as p
from tests.clirun import Run
from tests.iossim import DeviceSpec, IosSimBed
from tests.samples import IOS_SAMPLES, as_netmiko_returns
from tests.test_ios_fleet import PASSWORD, SECRET, Fleet, lo0

V4 = ipaddress.IPv4Address


def sample(project_os: str, folder: str, name: str) -> str:
    return as_netmiko_returns((IOS_SAMPLES / project_os / folder / name).read_text())


# -- the readers against real IOS ---------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "name", "expected"),
    [
        ("genieparser/ios", "golden_output_ios_output.txt", [(1, "10.1.1.1", None)]),
        ("genieparser/iosxe", "golden_output2_output.txt", [(65109, "10.169.197.254", None)]),
        ("genieparser/iosxe", "golden_output3_output.txt", [(1, "2.2.2.2", None)]),
        (
            "genieparser/iosxe",
            "golden_output4_output.txt",
            [(1, "100.1.1.1", None), (2, "200.1.1.1", "ONE")],
        ),
    ],
)
def test_show_ip_ospf_samples(where: str, name: str, expected: list[Any]) -> None:
    got = p.parse_show_ip_ospf(sample(where, "show_ip_ospf", name))
    assert [(x.pid, str(x.router_id), x.vrf) for x in got] == expected


def test_a_shut_down_ospf_process_is_read_as_such() -> None:
    text = "\n".join(
        [
            ' Routing Process "ospf 1" with ID 10.4.1.1',
            " Start time: 00:23:49.050, Time elapsed: 1d01h",
            "",
            ' Routing Process "ospf 2" with ID 10.229.11.11',
            "   Domain ID type 0x0005, value 0.0.0.2",
            " Routing Process is shutdown",
            " Connected to MPLS VPN Superbackbone, VRF VRF1",
        ]
    )  # the lines of genieparser's iosxe ShowIpOspf golden_output1 that matter, unindented
    assert p.parse_show_ip_ospf(text) == [
        p.OspfProcess(1, V4("10.4.1.1"), None, False),
        p.OspfProcess(2, V4("10.229.11.11"), "VRF1", True),
    ]


def test_show_ip_protocols_samples() -> None:
    def read(name: str) -> list[tuple[str, str | None]]:
        text = sample("genieparser/iosxe", "show_ip_protocols", name)
        return [(n, None if r is None else str(r)) for n, r in p.parse_show_ip_protocols(text)]

    assert read("golden_output_1_output.txt") == [
        ("application", None),
        ("isis sr", None),
        ("bgp 65000", None),
    ]
    assert read("golden_output_4_output.txt") == [("isis", None)]
    assert read("golden_output_7_output.txt") == [
        ("application", None),
        ("ospf 1", "192.168.1.179"),
        ("bgp 202926", None),
    ]


def test_show_ip_bgp_summary_samples() -> None:
    folder = "ntc-templates/cisco_ios"
    read = p.parse_bgp_summary
    assert read(sample(folder, "show_ip_bgp_summary", "cisco_ios_show_ip_bgp_summary.raw")) == (
        V4("10.0.0.0"),
        "65000",
    )
    dot = sample(folder, "show_ip_bgp_summary", "cisco_ios_show_ip_bgp_summary_with_dot.raw")
    assert read(dot) == (V4("10.12.0.10"), "64000.2017")
    # `show ip bgp all summary` (two address families, two identifiers): not the command
    # loopbackctl sends, and not one answer it would guess from.
    with pytest.raises(p.ParseError, match="names 2 router identifiers"):
        read(sample(folder, "show_ip_bgp_summary", "cisco_ios_show_ip_bgp_summary_all.raw"))


@pytest.mark.parametrize(
    ("reader", "text", "match"),
    [
        (p.parse_show_ip_ospf, ' Routing Process "ospf x" with ID 1.1.1.1', "Error"),
        (p.parse_show_ip_ospf, ' Routing Process "ospf 1" with ID 1.1.1', "Error"),
        (p.parse_show_ip_ospf, "% Invalid input detected at '^' marker.", "refused"),
        (p.parse_show_ip_protocols, "Routing Protocol is ospf 1\n  Router ID 1.1.1.1", "Error"),
        (p.parse_show_ip_protocols, "garbage at the top level", "Error"),
        (
            p.parse_router_blocks,
            "interface Loopback0\n ip address 1.1.1.1 255.255.255.255",
            "cannot read",
        ),
        (p.parse_router_blocks, "router ospf 1\n router-id 1.1.1.300", "not an IPv4"),
        (
            p.parse_router_blocks,
            "router ospf 1\n router-id 1.1.1.1\n router-id 1.1.1.2",
            "twice",
        ),
        (p.parse_bgp_summary, "", "names 0 router identifiers"),
        (
            p.parse_bgp_summary,
            "BGP router identifier 1.1.1.1, local AS number 1\n" * 2,
            "names 2 router identifiers",
        ),
    ],
)
def test_readers_fail_closed(reader: Any, text: str, match: str) -> None:
    with pytest.raises(p.ParseError, match=match):
        reader(text)


# -- end to end over SSH -------------------------------------------------------------------

ROUTERS = ["r1", "r2", "r3"]


def startup(i: int, *extra: str) -> list[str]:
    return [
        "interface Loopback0",
        " description router-id",
        f" ip address 10.255.0.{i} 255.255.255.255",
        f" ipv6 address 2001:db8:ff::{i}/128",
        *extra,
    ]


SPECS = [
    # r1: router-ids configured as intended; r2: none configured (chosen from Loopback0);
    # r3: no routing protocol.
    DeviceSpec(
        "r1",
        startup_config=startup(
            1,
            "router ospf 1",
            " router-id 10.255.0.1",
            " network 10.255.0.0 0.0.0.255 area 0",
            "router bgp 65000",
            " bgp router-id 10.255.0.1",
            " neighbor 10.255.0.2 remote-as 65000",
        ),
    ),
    DeviceSpec(
        "r2",
        startup_config=startup(
            2, "router ospf 1", " network 10.255.0.0 0.0.0.255 area 0", "router bgp 65000"
        ),
    ),
    DeviceSpec("r3", startup_config=startup(3)),
]


@pytest.fixture(scope="module")
def bed() -> Iterator[IosSimBed]:
    with IosSimBed(devices=SPECS) as b:
        yield b


@pytest.fixture
def fleet(bed: IosSimBed, tmp_path: Path) -> Fleet:
    for name in ROUTERS:
        bed.reset(name)
    f = Fleet(bed, tmp_path)
    f.write({name: [lo0(i)] for i, name in enumerate(ROUTERS, 1)})
    return f


def checks(r: Run, host: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in r.host(host)["checks"]}


def exec_over_ssh(bed: IosSimBed, name: str, command: str, *answers: str) -> str:
    """Run `command` in privileged EXEC through netmiko, answering its questions."""
    params = bed[name].netmiko_params(password=PASSWORD, secret=SECRET)
    with ConnectHandler(**params) as conn:
        conn.enable()
        out = conn.send_command_timing(command, strip_prompt=False, strip_command=False)
        for answer in answers:
            out += conn.send_command_timing(answer, strip_prompt=False, strip_command=False)
        return str(out)


def test_router_ids_as_intended_pass(fleet: Fleet) -> None:
    r = fleet.run("verify", "--routing", "--format", "json")
    assert r.rc == 0, r.out
    c = checks(r, "r1")
    assert c["router-id ospf"] == {
        "name": "router-id ospf",
        "ok": True,
        "detail": "10.255.0.1, as intended (highest loopback IPv4)",
        "severity": "error",
    }
    assert c["router-id bgp"]["ok"] and c["router-id bgp"]["detail"].startswith("10.255.0.1, as")
    assert c["router-ids in use"]["ok"]
    assert c["mesh"]["severity"] == "info"
    assert c["mesh"]["detail"].startswith(
        "not measured: loopbackctl does not ask IOS routers for routes and echoes"
    )
    assert r.host("r1")["router_ids"] == [
        {"protocol": "ospf", "vrf": "default", "router_id": "10.255.0.1"},
        {"protocol": "bgp", "vrf": "default", "router_id": "10.255.0.1"},
    ]
    assert checks(r, "r2")["router-id ospf"]["detail"] == (
        "10.255.0.2, as intended (highest loopback IPv4)"
    )
    assert checks(r, "r3")["routing"]["detail"] == "no routing protocol runs (OSPF, OSPFv3, BGP)"
    assert "router-id ospf" not in checks(r, "r3")
    # The routers were asked with show commands only.
    log = [e["line"] for e in fleet.bed.state("r1")["command_log"]]
    assert {"show ip protocols", "show ip ospf", "show ip bgp summary",
            "show running-config | section ^router"} <= set(log)  # fmt: skip
    assert not [line for line in log if line.startswith(("clear", "conf"))]


def test_a_duplicate_router_id_fails_on_both_routers(fleet: Fleet) -> None:
    fleet.bed.apply("r2", ["router ospf 1", " router-id 10.255.0.1"])
    exec_over_ssh(fleet.bed, "r2", "clear ip ospf process", "yes")
    r = fleet.run("verify", "--routing", "--format", "json")
    assert r.rc == 1
    for me, other in (("r1", "r2"), ("r2", "r1")):
        clash = [c for c in r.host(me)["checks"] if c["name"] == "router-id collision"]
        assert [c["detail"] for c in clash] == [
            f"ospf router-id 10.255.0.1 is also used by {other}"
        ]
        assert r.host(me)["status"] == "drift"
    assert checks(r, "r2")["router-id ospf"]["detail"] == (
        "stale router-id: ospf uses 10.255.0.1, intended 10.255.0.2 (highest loopback IPv4);"
        " `router-id 10.255.0.1` is configured under `router ospf 1`: set `router-id"
        " 10.255.0.2`, then `clear ip ospf process` applies it (it resets the ospf process)"
    )
    # BGP's router-ids differ (10.255.0.1 and 10.255.0.2): no clash there.
    assert "bgp router-id" not in " ".join(c["detail"] for c in r.host("r1")["checks"])
    assert r.host("r3")["status"] == "ok"


def test_a_stale_router_id_after_a_loopback_change_then_the_clear(fleet: Fleet) -> None:
    bed = fleet.bed
    moved = lo0(2, addresses=["10.255.0.102/32", "2001:db8:ff::2/128"])
    fleet.write({"r1": [lo0(1)], "r2": [moved], "r3": [lo0(3)]})
    r = fleet.run("apply", "--format", "json")
    assert r.rc == 0, r.out
    impact = [c["detail"] for c in r.host("r2")["checks"] if c["name"] == "router-id impact"]
    assert impact[0].startswith("router-id 10.255.0.2 -> 10.255.0.102 (predicted")
    # IOS keeps the router-ids its processes started with: stale, with what applies it.
    r = fleet.run("verify", "--routing", "--format", "json")
    assert r.rc == 1
    c = checks(r, "r2")
    assert c["router-id ospf"]["detail"] == (
        "stale router-id: ospf uses 10.255.0.2, intended 10.255.0.102 (highest loopback"
        " IPv4); ospf keeps the router-id it chose when it started: `clear ip ospf process`"
        " makes it choose again from the loopbacks that are up (it resets the ospf process);"
        " configuring `router-id 10.255.0.102` under `router ospf 1` pins it, then `clear ip"
        " ospf process` applies it"
    )
    assert c["router-id bgp"]["detail"] == (
        "stale router-id: bgp uses 10.255.0.2, intended 10.255.0.102 (highest loopback"
        " IPv4); bgp keeps the router-id it chose when it started: `clear ip bgp *` makes it"
        " choose again from the loopbacks that are up (it resets the bgp process);"
        " configuring `bgp router-id 10.255.0.102` under `router bgp 65000` pins it and"
        " applies it at once"
    )
    assert r.host("r2")["status"] == "drift"
    assert r.host("r1")["status"] == r.host("r3")["status"] == "ok"

    # Doing what it says, over SSH as a person would (IOS asks before resetting OSPF).
    out = exec_over_ssh(bed, "r2", "clear ip ospf process", "yes")
    assert "Reset ALL OSPF processes? [no]:" in out
    r = fleet.run("verify", "--routing", "--format", "json")
    assert r.rc == 1
    assert checks(r, "r2")["router-id ospf"]["detail"] == (
        "10.255.0.102, as intended (highest loopback IPv4)"
    )
    assert not checks(r, "r2")["router-id bgp"]["ok"]
    exec_over_ssh(bed, "r2", "clear ip bgp *")
    r = fleet.run("verify", "--routing", "--format", "json")
    assert r.rc == 0, r.out
    assert checks(r, "r2")["router-id bgp"]["ok"]


def test_an_unreadable_answer_fails_that_router_only(fleet: Fleet) -> None:
    fleet.bed.add_fault("r1", match="show ip ospf",
                        message=' Routing Process "ospf 1" with ID 10.255.0.1.7')  # fmt: skip
    r = fleet.run("verify", "--routing", "--format", "json")
    assert r.rc == 1
    assert r.host("r1")["status"] == "failed"
    assert "cannot parse the answer to 'show ip ospf'" in r.host("r1")["error"]
    assert r.host("r2")["status"] == "ok"
    # Two answers that disagree (a process restarted between them): no guess either.
    fleet.bed.clear_faults("r1")
    other = 'Routing Protocol is "ospf 1"\n  Router ID 10.255.0.99'
    fleet.bed.add_fault("r1", match="show ip protocols", message=other)
    r = fleet.run("verify", "--routing", "--format", "json")
    assert r.host("r1")["status"] == "failed"
    assert "differ about the running OSPF processes" in r.host("r1")["error"]


def test_the_table_names_the_stale_router_id(fleet: Fleet) -> None:
    fleet.bed.apply("r1", ["router ospf 1", " router-id 10.255.0.77"])
    exec_over_ssh(fleet.bed, "r1", "clear ip ospf process", "y")
    r = fleet.run("verify", "--routing")
    assert r.rc == 1
    row = next(line for line in r.out.splitlines() if line.startswith("r1 "))
    assert "stale router-id: ospf uses 10.255.0.77, intended 10.255.0.1" in row

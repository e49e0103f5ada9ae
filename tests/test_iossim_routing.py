"""The simulator's routing processes: `show ip ospf`, `show ip protocols` and `show ip bgp
summary` laid out as the real IOS outputs in tests/data/ios-samples (every line the
simulator prints has the shape of a line a real router printed there) and read by the
same parsers the IOS driver uses (ntc-templates for the BGP summary); and IOS's
router-id selection: configured, else the highest up loopback, else the highest up
interface, kept through loopback changes until `clear ip ospf process` / `clear ip bgp *`.

In-process routers (no SSH); the `clear ip ospf process` question through netmiko is in
tests/test_ios_routing.py. The 10.x addresses are data sent to the simulator only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ntc_templates.parse import parse_output

from loopbackctl.lab.iossim.core import IosRouterCore, RouterSpec, make_router
from loopbackctl.platforms.cisco_ios import parse as p
from tests.samples import IOS_SAMPLES, as_netmiko_returns

STARTUP = [
    "vrf definition blue",
    " address-family ipv4",
    "interface Loopback0",
    " ip address 10.255.0.1 255.255.255.255",
    " ip ospf 1 area 0",
    "interface Loopback5",
    " vrf forwarding blue",
    " ip address 10.9.0.5 255.255.255.255",
    "router ospf 1",
    " network 10.1.0.0 0.0.0.255 area 0.0.0.0",
    "router ospf 2 vrf blue",
    "router bgp 65000",
    " neighbor 10.255.0.2 remote-as 65000",
]


def router(startup: list[str], name: str = "r1") -> IosRouterCore:
    return make_router(RouterSpec(name=name, secret="enable", users={"admin": "admin"},
                                  startup_config=startup))  # fmt: skip


def samples(folder: str, pattern: str = "*") -> list[str]:
    found = sorted(IOS_SAMPLES.glob(f"*/*/{folder}/{pattern}"))
    assert found, folder
    return [as_netmiko_returns(path.read_text()) for path in found if path.suffix != ".yml"]


def shape(line: str) -> str:
    """A line with its numbers, addresses and names replaced, whitespace collapsed."""
    line = re.sub(r"\d+\.\d+\.\d+\.\d+", "<ip>", line)
    line = re.sub(r"VRF \S+", "VRF <vrf>", line)
    line = re.sub(r'"(ospf|bgp) \d+"', r'"\1 <n>"', line)
    line = re.sub(r"^\s+(Loopback|GigabitEthernet)\S+$", "<if>", line)
    line = re.sub(r"\d+", "<n>", line)
    return " ".join(line.split())


def real_shapes(folder: str, pattern: str = "*") -> set[str]:
    return {shape(line) for text in samples(folder, pattern) for line in text.splitlines()}


@pytest.fixture(scope="module")
def r1() -> IosRouterCore:
    return router(STARTUP)


# -- formats against real IOS -------------------------------------------------------------


def test_show_ip_ospf_is_laid_out_and_read_like_real_ios(r1: IosRouterCore) -> None:
    out = r1.run("show ip ospf")
    missing = {line for line in out.splitlines() if shape(line) not in real_shapes("show_ip_ospf")}
    assert not missing, missing
    # The process blocks start where genieparser's two-process sample starts them.
    heads = [line for line in out.splitlines() if line.startswith(" Routing Process")]
    assert heads == [
        ' Routing Process "ospf 1" with ID 10.255.0.1',
        ' Routing Process "ospf 2" with ID 10.9.0.5',
    ]
    assert " Connected to MPLS VPN Superbackbone, VRF blue" in out
    assert "    Area BACKBONE(0.0.0.0)" in out
    assert "        Number of interfaces in this area is 2 (1 loopback)" in out
    assert p.parse_show_ip_ospf(out) == [
        p.OspfProcess(1, p.ipaddress.IPv4Address("10.255.0.1"), None),
        p.OspfProcess(2, p.ipaddress.IPv4Address("10.9.0.5"), "blue"),
    ]


def test_show_ip_protocols_is_laid_out_and_read_like_real_ios(r1: IosRouterCore) -> None:
    out = r1.run("show ip protocols")
    real = real_shapes("show_ip_protocols")
    missing = {line for line in out.splitlines() if shape(line) not in real}
    assert not missing, missing
    assert p.parse_show_ip_protocols(out) == [
        ("ospf 1", p.ipaddress.IPv4Address("10.255.0.1")),
        ("bgp 65000", None),
    ]
    assert out.splitlines()[:2] == ["*** IP Routing is NSF aware ***", ""]


def test_show_ip_bgp_summary_is_laid_out_and_parsed_like_real_ios(r1: IosRouterCore) -> None:
    out = r1.run("show ip bgp summary")
    real = real_shapes("show_ip_bgp_summary", "*.raw")
    missing = {line for line in out.splitlines() if shape(line) not in real}
    assert not missing, missing
    rows: list[dict[str, Any]] = parse_output(platform="cisco_ios", command="show ip bgp summary",
                                              data=out)  # fmt: skip
    real_keys = {
        k
        for text in samples("show_ip_bgp_summary", "*.raw")
        for row in parse_output(platform="cisco_ios", command="show ip bgp summary", data=text)
        for k in row
    }
    assert len(rows) == 1 and set(rows[0]) == real_keys
    assert (rows[0]["router_id"], rows[0]["local_as"], rows[0]["bgp_neighbor"]) == (
        "10.255.0.1",
        "65000",
        "10.255.0.2",
    )
    assert rows[0]["state_or_prefixes_received"] == "Idle"
    assert r1.run("show bgp summary") == out
    assert p.parse_bgp_summary(out) == (p.ipaddress.IPv4Address("10.255.0.1"), "65000")


def test_running_config_prints_the_router_blocks_after_the_interfaces(r1: IosRouterCore) -> None:
    body = r1.state()["running_config"].splitlines()
    start = body.index("router ospf 1")
    assert body[start : start + 10] == [
        "router ospf 1",
        " network 10.1.0.0 0.0.0.255 area 0.0.0.0",
        "!",
        "router ospf 2 vrf blue",
        "!",
        "router bgp 65000",
        " bgp log-neighbor-changes",
        " neighbor 10.255.0.2 remote-as 65000",
        "!",
        "ip forward-protocol nd",
    ]
    assert max(i for i, line in enumerate(body) if line.startswith("interface ")) < start
    section = r1.run("show running-config | section ^router")
    assert p.parse_router_blocks(section) == {
        ("ospf", "1"): p.RouterBlock("router ospf 1", None),
        ("ospf", "2"): p.RouterBlock("router ospf 2 vrf blue", None),
        ("bgp", "65000"): p.RouterBlock("router bgp 65000", None),
    }


def test_no_routing_protocol() -> None:
    r = router([])
    assert r.run("show ip ospf") == ""
    assert p.parse_show_ip_protocols(r.run("show ip protocols")) == []
    assert r.run("show ip bgp summary").strip() == "% BGP not active"
    with pytest.raises(p.ParseError, match="names 0 router identifiers"):
        p.parse_bgp_summary(r.run("show ip bgp summary"))


# -- router-id selection ----------------------------------------------------------------


def live(r: IosRouterCore) -> dict[str, str | None]:
    return {f"{x['protocol']} {x['number']}": x["live"] for x in r.state()["routing"]}


def test_router_id_is_chosen_when_the_process_starts_and_kept() -> None:
    r = router(["router ospf 1", "router bgp 65000"])
    # No loopback: the highest up interface (GigabitEthernet0/0 10.1.0.1; Gi0/1 is down).
    assert live(r) == {"ospf 1": "10.1.0.1", "bgp 65000": "10.1.0.1"}
    r.apply(["interface Loopback0", " ip address 10.255.0.1 255.255.255.255"])
    assert live(r) == {"ospf 1": "10.1.0.1", "bgp 65000": "10.1.0.1"}  # kept
    # clear ip ospf process asks first; "no" (the default) changes nothing.
    assert r.run("clear ip ospf process") == "Reset ALL OSPF processes? [no]: "
    assert r.run("clear ip ospf process", "no").startswith("Reset ALL OSPF processes? [no]: no")
    assert live(r)["ospf 1"] == "10.1.0.1"
    assert r.run("clear ip bgp *") == ""
    assert live(r) == {"ospf 1": "10.1.0.1", "bgp 65000": "10.255.0.1"}
    clear_ospf(r)
    assert live(r) == {"ospf 1": "10.255.0.1", "bgp 65000": "10.255.0.1"}


def test_clear_ip_ospf_process_confirmed_takes_the_highest_up_loopback() -> None:
    r = router(["interface Loopback0", " ip address 10.255.0.1 255.255.255.255",
                "interface Loopback1", " ip address 10.255.0.9 255.255.255.255", " shutdown",
                "router ospf 1"])  # fmt: skip
    assert live(r) == {"ospf 1": "10.255.0.1"}  # Loopback1 is down
    r.apply(["no interface Loopback0", "interface Loopback2",
             " ip address 10.255.0.2 255.255.255.255"])  # fmt: skip
    assert live(r) == {"ospf 1": "10.255.0.1"}  # the address is gone, the router-id stays
    clear_ospf(r)
    assert live(r) == {"ospf 1": "10.255.0.2"}


def clear_ospf(r: IosRouterCore) -> None:
    """`clear ip ospf process`, answered `yes` (as a person types it)."""
    assert r.run("clear ip ospf process", "yes").startswith("Reset ALL OSPF processes? [no]: yes")


def test_a_configured_router_id_waits_for_the_clear_on_ospf_not_on_bgp() -> None:
    r = router(["interface Loopback0", " ip address 10.255.0.1 255.255.255.255",
                "router ospf 1", " router-id 10.255.0.77", "router bgp 65000"])  # fmt: skip
    # At boot the configured one is taken at once.
    assert live(r) == {"ospf 1": "10.255.0.77", "bgp 65000": "10.255.0.1"}
    out = r.apply(["router ospf 1", " router-id 10.255.0.78", "router bgp 65000",
                   " bgp router-id 10.255.0.79"])  # fmt: skip
    assert '% OSPF: Reload or use "clear ip ospf process" command, for this to take effect' in out
    assert live(r) == {"ospf 1": "10.255.0.77", "bgp 65000": "10.255.0.79"}
    clear_ospf(r)
    assert live(r) == {"ospf 1": "10.255.0.78", "bgp 65000": "10.255.0.79"}
    # The saved configuration keeps it; a reboot from it starts with the configured ones.
    assert " router-id 10.255.0.78" in r.state()["running_config"]
    assert " bgp router-id 10.255.0.79" in r.state()["running_config"]


def test_an_ospf_process_without_an_address_waits_for_one() -> None:
    r = router(["router ospf 1"])
    r.apply(["interface GigabitEthernet0/0", " shutdown"])
    r2 = router(["interface GigabitEthernet0/0", " shutdown", "router ospf 1"], "r2")
    assert r2.run("show ip ospf") == ""
    r2.apply(["interface Loopback3", " ip address 10.255.3.3 255.255.255.255"])
    assert p.parse_show_ip_ospf(r2.run("show ip ospf"))[0].router_id == (
        p.ipaddress.IPv4Address("10.255.3.3")
    )
    assert live(r)["ospf 1"] == "10.1.0.1"  # started before the port went down: kept


def test_router_mode_refusals(r1: IosRouterCore) -> None:
    r = router(["router bgp 65000"])
    out = r.apply(["router bgp 65001", "router ospf 1", " router-id 300.1.1.1",
                   " bgp router-id 10.1.1.1", "router ospf 2 vrf nosuch"])  # fmt: skip
    assert "% BGP is already running; AS is 65000" in out
    assert out.count("% Invalid input detected at '^' marker.") == 2
    assert "% VRF nosuch not configured." in out
    assert [x["number"] for x in r.state()["routing"]] == [1, 65000]
    r.apply(["no router ospf 1", "no router bgp 65000"])
    assert r.state()["routing"] == []


def test_sample_folders_hold_their_provenance() -> None:
    readme = (IOS_SAMPLES / "README.md").read_text()
    for folder in ("show_ip_ospf", "show_ip_protocols", "show_ip_bgp_summary"):
        for path in IOS_SAMPLES.glob(f"*/*/{folder}/*"):
            assert path.with_suffix(".raw").name in readme or path.name in readme, path
    assert Path(IOS_SAMPLES / "genieparser" / "LICENSE").exists()

"""IOS end to end against the simulator (tests/iossim): `loopbackctl apply/verify` run in
this process against simulated routers (each in its own network namespace of a lab), and
the driver's push against every refusal IOS prints. The 10.x addresses below are data
sent to the simulator only."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopbackctl.errors import DeviceError
from loopbackctl.model import Host
from loopbackctl.platforms.cisco_ios.driver import IosDriver
from loopbackctl.transport.cli import CliSession
from loopbackctl.transport.options import ConnectOptions
from tests.clirun import Run, run_cli
from tests.iossim import DeviceSpec, IosSimBed

ROUTERS = [f"r{i}" for i in range(1, 7)]
PASSWORD, SECRET = "admin", "enable"


def startup(i: int) -> list[str]:
    return [
        "interface Loopback0",
        " description router-id",
        f" ip address 10.255.0.{i} 255.255.255.255",
        f" ipv6 address 2001:db8:ff::{i}/128",
    ]


def lo0(i: int, **kw: Any) -> dict[str, Any]:
    """The inventory entry that matches `startup(i)`, with `kw` overriding."""
    entry: dict[str, Any] = {
        "name": "Loopback0",
        "description": "router-id",
        "addresses": [f"10.255.0.{i}/32", f"2001:db8:ff::{i}/128"],
    }
    entry.update(kw)
    return entry


@pytest.fixture(scope="module")
def bed() -> Iterator[IosSimBed]:
    specs = [
        DeviceSpec(name, password=PASSWORD, secret=SECRET, startup_config=startup(i))
        for i, name in enumerate(ROUTERS, 1)
    ]
    with IosSimBed(devices=specs) as b:
        yield b


@dataclass
class Fleet:
    bed: IosSimBed
    dir: Path

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory"

    def write(
        self,
        loopbacks: Mapping[str, list[dict[str, Any]]],
        *,
        host_fields: Mapping[str, Mapping[str, Any]] | None = None,
        extra_hosts: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """hosts.yaml with one cisco_ios host per key of `loopbacks` (no secrets: the
        password and enable secret come from LOOPBACKCTL_PASSWORD / _SECRET)."""
        doc: dict[str, Any] = dict(extra_hosts or {})
        for name, lbs in loopbacks.items():
            dev = self.bed[name]
            entry: dict[str, Any] = {
                "hostname": dev.host,
                "port": dev.port,
                "platform": "cisco_ios",
                "username": dev.username,
                "data": {"loopbacks": lbs, **(data or {})},
            }
            entry.update((host_fields or {}).get(name, {}))
            doc[name] = entry
        self.inventory.mkdir(exist_ok=True)
        (self.inventory / "hosts.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))

    def run(self, *argv: str, env: Mapping[str, str] | None = None) -> Run:
        env = {"LOOPBACKCTL_PASSWORD": PASSWORD, "LOOPBACKCTL_SECRET": SECRET, **(env or {})}
        return run_cli(self.inventory, self.dir / "known_hosts", argv, env)


@pytest.fixture
def fleet(bed: IosSimBed, tmp_path: Path) -> Fleet:
    for name in ROUTERS:
        bed.reset(name)
    return Fleet(bed, tmp_path)


def interfaces(bed: IosSimBed, name: str) -> dict[str, dict[str, Any]]:
    """Interface name → (description, shutdown, IPv4 with secondary flag, IPv6)."""
    out = {}
    for i in bed.state(name)["interfaces"]:
        out[i["name"]] = {
            "description": i["description"],
            "shutdown": i["shutdown"],
            "ipv4": [(f"{a['address']}/{a['prefixlen']}", a["secondary"]) for a in i["ipv4"]],
            "ipv6": sorted(str(a).lower() for a in i["ipv6"]),
        }
    return out


def config_sessions(bed: IosSimBed, name: str) -> list[str]:
    """Configuration-mode lines the router received (any session)."""
    return [
        e["line"]
        for e in bed.state(name)["command_log"]
        if e["mode"].startswith("config") and e["line"].strip()
    ]


# -- changes --------------------------------------------------------------------------


def test_create_loopback_verify_and_save(fleet: Fleet) -> None:
    bed = fleet.bed
    fleet.write(
        {
            "r1": [
                lo0(1),
                {
                    "name": "Loopback1",
                    "description": "iBGP peering",
                    "addresses": ["10.255.1.1/32", "10.255.2.1/32", "2001:db8:1::1/128"],
                },
            ]
        }
    )
    saves = bed.state("r1")["save_count"]
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 0, run.out + run.err
    host = run.host("r1")
    assert host["status"] == "changed"
    assert host["commands"] == [
        "interface Loopback1",
        " description iBGP peering",
        " ip address 10.255.1.1 255.255.255.255",
        " ip address 10.255.2.1 255.255.255.255 secondary",
        " ipv6 address 2001:db8:1::1/128",
        "write memory",
    ]
    assert interfaces(bed, "r1")["Loopback1"] == {
        "description": "iBGP peering",
        "shutdown": False,
        "ipv4": [("10.255.1.1/32", False), ("10.255.2.1/32", True)],
        "ipv6": ["2001:db8:1::1/128"],
    }
    state = bed.state("r1")
    assert state["saved"] and state["save_count"] == saves + 1
    assert host["router_id"] == "10.255.1.1"
    assert fleet.run("verify").rc == 0


def test_change_description(fleet: Fleet) -> None:
    fleet.write({"r2": [lo0(2, description="router-id (core)")]})
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 0, run.out
    assert run.host("r2")["commands"][:2] == [
        "interface Loopback0",
        " description router-id (core)",
    ]
    assert interfaces(fleet.bed, "r2")["Loopback0"]["description"] == "router-id (core)"


def test_add_and_remove_a_secondary(fleet: Fleet) -> None:
    bed = fleet.bed
    fleet.write(
        {"r3": [lo0(3, addresses=["10.255.0.3/32", "10.255.9.3/32", "2001:db8:ff::3/128"])]}
    )
    assert fleet.run("apply").rc == 0
    assert interfaces(bed, "r3")["Loopback0"]["ipv4"] == [
        ("10.255.0.3/32", False),
        ("10.255.9.3/32", True),
    ]
    fleet.write({"r3": [lo0(3)]})
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 0
    assert run.host("r3")["commands"] == [
        "interface Loopback0",
        " no ip address 10.255.9.3 255.255.255.255 secondary",
        "write memory",
    ]
    assert interfaces(bed, "r3")["Loopback0"]["ipv4"] == [("10.255.0.3/32", False)]


def test_promote_secondary_to_primary(fleet: Fleet) -> None:
    bed = fleet.bed
    bed.apply("r3", ["interface Loopback0", " ip address 10.255.9.3 255.255.255.255 secondary"])
    fleet.write(
        {"r3": [lo0(3, addresses=["10.255.9.3/32", "10.255.0.3/32", "2001:db8:ff::3/128"])]}
    )
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 0, run.out
    assert interfaces(bed, "r3")["Loopback0"]["ipv4"] == [
        ("10.255.9.3/32", False),
        ("10.255.0.3/32", True),
    ]


def test_add_ipv6(fleet: Fleet) -> None:
    addresses = ["10.255.0.4/32", "2001:db8:ff::4/128", "2001:db8:4:4::1/64"]
    fleet.write({"r4": [lo0(4, addresses=addresses)]}, data={"allow_subnet_loopbacks": True})
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 0, run.out
    assert " ipv6 address 2001:db8:4:4::1/64" in run.host("r4")["commands"]
    assert interfaces(fleet.bed, "r4")["Loopback0"]["ipv6"] == [
        "2001:db8:4:4::1/64",
        "2001:db8:ff::4/128",
    ]


def test_shutdown_and_back(fleet: Fleet) -> None:
    fleet.write({"r4": [lo0(4, shutdown=True)]})
    assert fleet.run("apply").rc == 0
    assert interfaces(fleet.bed, "r4")["Loopback0"]["shutdown"] is True
    fleet.write({"r4": [lo0(4)]})
    assert fleet.run("apply").rc == 0
    assert interfaces(fleet.bed, "r4")["Loopback0"]["shutdown"] is False


def test_remove_managed_loopback_only(fleet: Fleet) -> None:
    bed = fleet.bed
    bed.apply("r5", ["interface Loopback1", " ip address 10.255.1.5 255.255.255.255"])
    bed.apply("r5", ["interface Loopback2", " ip address 10.255.2.5 255.255.255.255"])
    fleet.write({"r5": [lo0(5), {"name": "Loopback1", "state": "absent"}]})
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 0, run.out
    assert run.host("r5")["commands"] == ["no interface Loopback1", "write memory"]
    after = interfaces(bed, "r5")
    assert "Loopback1" not in after
    assert after["Loopback2"]["ipv4"] == [("10.255.2.5/32", False)]  # not ours: untouched


def test_purge_removes_unnamed_loopbacks_never_physical(fleet: Fleet) -> None:
    bed = fleet.bed
    bed.apply("r5", ["interface Loopback7", " description stray"])
    before = interfaces(bed, "r5")
    fleet.write({"r5": [lo0(5)]})
    check = fleet.run("apply", "--check", "--purge", "--format", "json")
    assert check.rc == 1
    assert check.host("r5")["commands"] == ["no interface Loopback7"]
    assert interfaces(bed, "r5") == before
    run = fleet.run("apply", "--purge", "--format", "json")
    assert run.rc == 0, run.out
    after = interfaces(bed, "r5")
    assert sorted(after) == ["GigabitEthernet0/0", "GigabitEthernet0/1", "Loopback0"]
    assert {k: after[k] for k in ("GigabitEthernet0/0", "GigabitEthernet0/1")} == {
        k: before[k] for k in ("GigabitEthernet0/0", "GigabitEthernet0/1")
    }


def test_purge_leaves_routers_the_inventory_does_not_describe(fleet: Fleet) -> None:
    """r5 declares Loopback0, r4 declares that no loopback may remain, r6 is listed
    without loopbacks (its router-id Loopback0 is not in the inventory), and a Junos
    router is listed too: apply --purge must delete nothing on r6 and skip the Junos one."""
    bed = fleet.bed
    for name in ("r4", "r5", "r6"):
        bed.apply(name, ["interface Loopback7", " description stray"])
    r6 = bed["r6"]
    extra = {
        "r6": {"hostname": r6.host, "port": r6.port, "platform": "ios", "username": r6.username},
        "mx1": {"hostname": "198.18.0.99", "platform": "junos"},
    }
    fleet.write({"r4": [], "r5": [lo0(5)]}, extra_hosts=extra)
    before = interfaces(bed, "r6")
    run = fleet.run("apply", "--purge", "--format", "json")
    assert run.rc == 0, run.out
    assert sorted(interfaces(bed, "r5")) == [
        "GigabitEthernet0/0",
        "GigabitEthernet0/1",
        "Loopback0",
    ]
    assert sorted(interfaces(bed, "r4")) == ["GigabitEthernet0/0", "GigabitEthernet0/1"]
    assert interfaces(bed, "r6") == before  # Loopback0 (router-id) and Loopback7 kept
    r6_result = run.host("r6")
    assert (r6_result["status"], r6_result["commands"]) == ("ok", [])
    assert [c["severity"] for c in r6_result["checks"] if c["name"] == "purge"] == ["warning"]
    assert run.host("mx1")["status"] == "skipped"
    assert run.doc["summary"]["skipped"] == 1 and run.doc["summary"]["changed"] == 2
    assert not any(e["line"] == "configure terminal" for e in bed.state("r6")["command_log"])


# -- idempotency and check mode -------------------------------------------------------


def test_second_apply_sends_no_configuration(fleet: Fleet) -> None:
    bed = fleet.bed
    want = {
        "r1": [lo0(1, description="rid"), {"name": "Loopback9", "addresses": ["10.255.9.1/32"]}],
        "r2": [lo0(2)],
    }
    fleet.write(want)
    first = fleet.run("apply", "--format", "json")
    assert first.rc == 0
    assert [h["status"] for h in first.doc["hosts"]] == ["changed", "ok"]
    lines = {n: config_sessions(bed, n) for n in ("r1", "r2")}
    saves = {n: bed.state(n)["save_count"] for n in ("r1", "r2")}
    second = fleet.run("apply", "--format", "json")
    assert second.rc == 0
    assert [h["status"] for h in second.doc["hosts"]] == ["ok", "ok"]
    assert all(h["commands"] == [] and h["changes"] == [] for h in second.doc["hosts"])
    for n in ("r1", "r2"):
        assert config_sessions(bed, n) == lines[n], "a configuration command was sent"
        assert bed.state(n)["save_count"] == saves[n]
        assert all(e["line"] != "configure terminal" for e in bed.state(n)["command_log"][-20:])


def test_check_diff_shows_ios_lines_and_changes_nothing(fleet: Fleet) -> None:
    bed = fleet.bed
    fleet.write(
        {
            "r6": [
                lo0(6, description="rid", addresses=["10.255.0.6/32", "10.255.6.6/32"]),
                {"name": "Loopback1", "addresses": ["10.255.1.6/32"]},
            ]
        }
    )
    before = bed.state("r6")
    run = fleet.run("apply", "--check", "--diff")
    assert run.rc == 1
    # hier_config's order: negations first, then additions in the template's order.
    expected_lines = [
        "interface Loopback0",
        " no ipv6 address 2001:db8:ff::6/128",
        " description rid",
        " ip address 10.255.6.6 255.255.255.255 secondary",
        "interface Loopback1",
        " ip address 10.255.1.6 255.255.255.255",
    ]
    out = run.out.splitlines()
    start = out.index("# r6: would send")
    assert out[start + 1 : start + 1 + len(expected_lines)] == expected_lines
    for line in (
        "--- r6 Loopback0 (now)",
        "+++ r6 Loopback0 (after apply)",
        "- description router-id",
        "+ description rid",
        "  10.255.0.6/32",
        "+ 10.255.6.6/32",
        "- 2001:db8:ff::6/128",
        "+ interface Loopback1",
        "+ 10.255.1.6/32",
        # each block before and after, as IOS prints it (IPv6 in lower case)
        "--- r6 Loopback0 (now)",
        " interface Loopback0",
        "- description router-id",
        "+ description rid",
        "- ipv6 address 2001:db8:ff::6/128",
        "+ ip address 10.255.6.6 255.255.255.255 secondary",
        "--- r6 Loopback1 (absent)",
        "+interface Loopback1",
        "+ ip address 10.255.1.6 255.255.255.255",
    ):
        assert line in out, line
    after = bed.state("r6")
    assert after["interfaces"] == before["interfaces"]
    assert after["running_config"] == before["running_config"]
    assert after["config_lines"] == before["config_lines"]


# -- refusals: the driver's push against every message IOS prints ---------------------

REFUSED = {
    "127/8 (no %)": (
        " ip address 127.0.0.2 255.255.255.255",
        "Not a valid host address - 127.0.0.2",
    ),
    "overlap": (
        " ip address 10.1.0.5 255.255.255.255",
        "% 10.1.0.5 overlaps with GigabitEthernet0/0",
    ),
    "invalid input": (
        " ip adress 10.255.1.1 255.255.255.255",
        "% Invalid input detected at '^' marker.",
    ),
    "incomplete": (" ip address 10.255.1.1", "% Incomplete command."),
    "ambiguous": (" i address 10.255.1.1 255.255.255.255", '% Ambiguous command:  "i address'),
    "bad mask (no %)": (" ip address 10.9.0.0 255.255.255.0", "Bad mask /24 for address 10.9.0.0"),
}


def _connect(
    bed: IosSimBed, name: str, tmp: Path, **host: Any
) -> tuple[IosDriver, CliSession, Host]:
    dev = bed[name]
    h = Host(
        name,
        "cisco_ios",
        hostname=dev.host,
        port=dev.port,
        username=dev.username,
        password=PASSWORD,
        connection_options={"netmiko": {"extras": {"secret": SECRET}}},
        **host,
    )
    driver = IosDriver()
    options = ConnectOptions(known_hosts=str(tmp / "known_hosts"), command_timeout=10.0)
    session = driver.connect(h, options)
    assert isinstance(session, CliSession)
    return driver, session, h


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_push_detects_each_ios_refusal(bed: IosSimBed, tmp_path: Path, case: str) -> None:
    bed.reset("r1")
    line, message = REFUSED[case]
    driver, session, host = _connect(bed, "r1", tmp_path)
    try:
        before = driver.read(session, host).loopbacks
        with pytest.raises(DeviceError) as err:
            driver.push(session, host, ["interface Loopback1", line, " description after"])
        text = str(err.value)
        assert repr(line.strip()) in text, text
        assert message in text, text
        # netmiko stopped at the refused line and left configuration mode: reads still work
        # and the line after it was never sent.
        after = driver.read(session, host).loopbacks
        assert [lb.name for lb in after] == ["Loopback0", "Loopback1"]
        assert after[0] == before[0]
        assert after[1].description is None
    finally:
        session.close()


def test_refusal_through_apply_rolls_back(fleet: Fleet) -> None:
    # The inventory cannot know the router's physical subnets: IOS refuses the overlap.
    bed = fleet.bed
    before = bed.state("r2")
    fleet.write(
        {
            "r2": [
                lo0(2, description="changed first"),
                {"name": "Loopback1", "addresses": ["10.1.0.5/32"]},
            ]
        }
    )
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 1
    host = run.host("r2")
    assert host["status"] == "failed"
    assert "% 10.1.0.5 overlaps with GigabitEthernet0/0" in host["error"]
    assert "ip address 10.1.0.5 255.255.255.255" in host["error"]
    assert host["rollback"] == "restored"
    after = bed.state("r2")
    assert after["interfaces"] == before["interfaces"]
    assert after["running_config"] == before["running_config"]
    assert after["save_count"] == before["save_count"]


@pytest.mark.parametrize(
    "message",
    [
        "% Invalid input detected at '^' marker.",
        "Not a valid host address - 127.0.0.2",
        "Bad mask /32 for address 172.16.2.78",
        "% Incomplete command.",
        '% Ambiguous command:  "ip address"',
        "% 10.255.9.2 overlaps with Loopback1",
    ],
)
def test_rollback_after_second_of_three_commands_refused(fleet: Fleet, message: str) -> None:
    bed = fleet.bed
    before = bed.state("r2")
    fleet.write(
        {
            "r2": [
                lo0(
                    2,
                    description="new",
                    addresses=[
                        "10.255.0.2/32",
                        "10.255.9.2/32",
                        "2001:db8:ff::2/128",
                        "2001:db8:2::2/128",
                    ],
                )
            ]
        }
    )
    # interface Loopback0 / description new / ip address ... secondary / ipv6 address ...
    bed.add_fault(
        "r2",
        match="ip address 10.255.9.2 255.255.255.255 secondary",
        message=message,
    )
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 1
    host = run.host("r2")
    assert host["status"] == "failed"
    assert message in host["error"] and "10.255.9.2 255.255.255.255 secondary" in host["error"]
    assert host["rollback"] == "restored"
    # The first command (description) had been applied and was undone; the third never ran.
    assert host["commands"][:3] == [
        "interface Loopback0",
        " description new",
        " ip address 10.255.9.2 255.255.255.255 secondary",
    ]
    assert " description router-id" in host["commands"][3:]
    after = bed.state("r2")
    assert after["interfaces"] == before["interfaces"]
    assert after["running_config"] == before["running_config"]
    assert after["save_count"] == before["save_count"]


def test_session_cut_mid_push_is_restored_over_a_new_session(fleet: Fleet) -> None:
    bed = fleet.bed
    before = bed.state("r3")
    fleet.write({"r3": [lo0(3, description="cut", addresses=["10.255.0.3/32", "10.255.9.3/32"])]})
    # The push's lines come after arming confirm-or-revert, whose `end` is the first line
    # in configuration mode: cut before the push's 3rd line.
    bed.add_fault("r3", action="cut", at_config_line=4)
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 1
    host = run.host("r3")
    assert host["status"] == "failed"
    assert "connection lost" in host["error"]
    assert host["rollback"] == "restored"
    after = bed.state("r3")
    assert after["interfaces"] == before["interfaces"]
    assert after["running_config"] == before["running_config"]
    assert after["sessions_total"] - before["sessions_total"] >= 2


def test_wrong_enable_secret(fleet: Fleet) -> None:
    fleet.write({"r4": [lo0(4, description="never")]})
    run = fleet.run("apply", "--format", "json", env={"LOOPBACKCTL_SECRET": "wrong"})
    assert run.rc == 1
    host = run.host("r4")
    assert host["status"] == "failed"
    assert "enable" in host["error"] and "LOOPBACKCTL_SECRET" in host["error"]
    assert "wrong" not in json.dumps(host)
    assert interfaces(fleet.bed, "r4")["Loopback0"]["description"] == "router-id"


def test_closed_port_is_unreachable(fleet: Fleet) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fleet.write({"r1": [lo0(1)]}, host_fields={"r1": {"port": port}})
    run = fleet.run("verify", "--format", "json", "--connect-timeout", "3")
    assert run.rc == 1
    host = run.host("r1")
    assert host["status"] == "unreachable"
    assert "connection refused" in host["error"]


def test_hang_times_out_and_is_restored(fleet: Fleet) -> None:
    bed = fleet.bed
    before = bed.state("r6")
    fleet.write({"r6": [lo0(6, description="hang")]})
    bed.add_fault("r6", action="hang", match="description hang", times=1)
    run = fleet.run("apply", "--format", "json", "--command-timeout", "2")
    assert run.rc == 1
    host = run.host("r6")
    assert host["status"] == "failed"
    assert host["rollback"] in ("restored", "nothing to undo")
    assert bed.state("r6")["interfaces"] == before["interfaces"]


# -- verify: same reports, router-ids --------------------------------------------------


def test_verify_table_json_junit_and_exit_codes(fleet: Fleet) -> None:
    fleet.write({"r1": [lo0(1)], "r2": [lo0(2, description="other")]})
    table = fleet.run("verify", "--format", "table")
    assert table.rc == 1
    lines = table.out.splitlines()
    assert lines[0].split() == [
        "host", "platform", "status", "changes", "checks", "ok", "unmanaged", "detail",
    ]  # fmt: skip
    assert lines[1].split()[:3] == ["r1", "cisco_ios", "ok"]
    assert lines[2].split()[:3] == ["r2", "cisco_ios", "drift"]
    assert "description 'router-id'" in lines[2]
    doc = fleet.run("verify", "--format", "json").doc
    assert doc["summary"] == {
        "total": 2, "ok": 1, "changed": 0, "drift": 1, "failed": 0, "unreachable": 0,
        "skipped": 0,
    }  # fmt: skip
    r1 = doc["hosts"][0]
    assert set(r1) >= {"name", "platform", "status", "changes", "checks", "error", "router_id"}
    assert r1["router_id"] == "10.255.0.1"
    assert {"name": "router-id", "ok": True, "detail": "10.255.0.1, unique in this run",
            "severity": "error"} in r1["checks"]  # fmt: skip
    junit = ET.fromstring(fleet.run("verify", "--format", "junit").out)
    suite = junit.find("testsuite")
    assert suite is not None
    # r2's status, its description check and its configuration check
    assert suite.get("failures") == "3"
    names = {(tc.get("classname"), tc.get("name")) for tc in suite.iter("testcase")}
    assert ("loopbackctl.r1", "router-id") in names
    assert ("loopbackctl.r2", "Loopback0 description") in names
    assert ("loopbackctl.r2", "configuration") in names
    fleet.write({"r1": [lo0(1)], "r2": [lo0(2)]})
    assert fleet.run("verify").rc == 0


def test_shared_router_id_flags_both_routers(fleet: Fleet) -> None:
    bed = fleet.bed
    # A loopback the inventory does not name carries the highest address on both routers:
    # each would take 10.255.99.99 as its OSPF/BGP router-id.
    for name in ("r1", "r2"):
        bed.apply(name, ["interface Loopback99", " ip address 10.255.99.99 255.255.255.255"])
    fleet.write({"r1": [lo0(1)], "r2": [lo0(2)], "r3": [lo0(3)]})
    run = fleet.run("verify", "--format", "json")
    assert run.rc == 1
    for name, other in (("r1", "r2"), ("r2", "r1")):
        host = run.host(name)
        assert host["router_id"] == "10.255.99.99"
        assert host["status"] == "drift"
        (check,) = [c for c in host["checks"] if c["name"] == "router-id"]
        assert not check["ok"] and other in check["detail"]
    assert run.host("r3")["status"] == "ok"
    assert run.host("r3")["router_id"] == "10.255.0.3"


def test_shut_loopback_is_not_the_router_id(fleet: Fleet) -> None:
    fleet.bed.apply(
        "r4", ["interface Loopback99", " ip address 10.255.99.4 255.255.255.255", " shutdown"]
    )
    fleet.write({"r4": [lo0(4)]})
    assert fleet.run("verify", "--format", "json").host("r4")["router_id"] == "10.255.0.4"


def test_mixed_fleet_ios_and_linux(fleet: Fleet, linux_bed: Any, tmp_path: Path) -> None:
    lbed = linux_bed(n=2)
    linux_dir = lbed.write_inventory(
        tmp_path / "linux",
        loopbacks={
            h.name: [{"name": "lo", "addresses": [f"198.18.200.{i}/32"]}]
            for i, h in enumerate(lbed.hosts, 1)
        },
    )
    linux_hosts: dict[str, Any] = yaml.safe_load((linux_dir / "hosts.yaml").read_text())
    fleet.write({"r1": [lo0(1)], "r2": [lo0(2)]}, extra_hosts=linux_hosts)
    for f in ("groups.yaml", "defaults.yaml"):
        if (linux_dir / f).exists():
            (fleet.inventory / f).write_text((linux_dir / f).read_text())
    verify = fleet.run("verify", "--format", "json")
    assert verify.out, verify.err
    statuses = {h["name"]: h["status"] for h in verify.doc["hosts"]}
    assert verify.rc == 1, verify.out
    assert {n: s for n, s in statuses.items() if n in ("r1", "r2")} == {"r1": "ok", "r2": "ok"}
    assert {s for n, s in statuses.items() if n not in ("r1", "r2")} == {"drift"}
    apply = fleet.run("apply", "--format", "json")
    assert apply.rc == 0, apply.out
    again = fleet.run("verify", "--format", "json")
    assert again.rc == 0
    platforms = {h["platform"] for h in again.doc["hosts"]}
    assert platforms == {"cisco_ios", "linux"}
    assert all(h["router_id"] is None for h in again.doc["hosts"] if h["platform"] == "linux")

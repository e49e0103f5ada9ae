"""The simulator's Configuration Rollback Confirmed Change (IOS `archive`, `configure
terminal revert timer`, `configure confirm`, `configure revert`): in-process on a
Twisted test clock (exact timing), then over SSH with netmiko on a running bed whose
IOS minute lasts one second ($IOSSIM_MINUTE_SECONDS).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from netmiko import ConnectHandler
from twisted.internet import task

from loopbackctl.lab.iossim import archive
from loopbackctl.lab.iossim.core import IosRouterCore, RouterSpec, make_router
from loopbackctl.lab.iossim.server import MINUTE_ENV, SpecError, minute_seconds
from tests.iossim import DeviceSpec, IosSimBed
from tests.test_iossim import wait_for

STARTUP = [
    "interface Loopback0",
    " description router-id",
    " ip address 10.255.0.1 255.255.255.255",
    " ipv6 address 2001:db8:ff::1/128",
    "interface Loopback5",
    " description five",
    " ip address 10.255.5.1 255.255.255.255",
    " shutdown",
]
ARCHIVE = ["archive", " path flash:archive"]
CHANGE = [
    "interface Loopback9",
    " ip address 10.255.9.1 255.255.255.255",
    "no interface Loopback5",
    "interface Loopback0",
    " ip address 10.255.0.2 255.255.255.255",
    " no ipv6 address",
    " description changed",
]
BACKUP = re.compile(
    r"^Rollback Confirmed Change: Backing up current running config to "
    r"flash:archive-[A-Z][a-z]{2}-[- ]\d{1,2}-\d\d-\d\d-\d\d\.\d{3}-\d+$",
    re.M,
)


@pytest.fixture
def router() -> IosRouterCore:
    core = make_router(
        RouterSpec(name="r1", secret="s", users={"admin": "p"}, startup_config=STARTUP + ARCHIVE)
    )
    core.clock = task.Clock()
    return core


def clock(core: IosRouterCore) -> task.Clock:
    assert isinstance(core.clock, task.Clock)
    return core.clock


# ------------------------------------------------------------------- in process


def test_archive_section_is_configuration(router: IosRouterCore) -> None:
    body = router.running_body()
    at = body.index("archive")
    assert body[at : at + 3] == ["archive", " path flash:archive", "!"]
    assert at < body.index("interface Loopback0")
    router.apply(["archive", " maximum 4"])
    assert " maximum 4" in router.running_body()
    assert router.run("show archive").splitlines()[:4] == [
        "The maximum archive configurations allowed is 4.",
        "There are currently 0 archive configurations saved.",
        "The next archive file will be named flash:archive-<timestamp>-0",
        " Archive #  Name",
    ]
    out = router.apply(["archive", " maximum 15", " path nowhere"])
    assert out.count("% Invalid input detected") == 2
    router.apply(["no archive"])
    assert "archive" not in router.running_body()
    assert router.run("show archive") == archive.NOT_ENABLED + "\n"


def test_without_an_archive_path_the_timer_is_refused(router: IosRouterCore) -> None:
    router.apply(["archive", " no path"])
    before = router.running_body()
    out = router.run("configure terminal revert timer 5")
    assert out == archive.ARCHIVE_OFF + "\n"  # and EXEC mode stays (no config prompt)
    assert router.revert.pending is None and router.running_body() == before


def test_expiry_puts_back_the_whole_archived_configuration(router: IosRouterCore) -> None:
    before = router.running_body()
    out = router.run("configure terminal revert timer 2")
    assert BACKUP.search(out), out
    assert out.endswith("one per line.  End with CNTL/Z.\nr1(config)#")
    # Changes by any session meanwhile, the archive section included, are all undone.
    router.apply([*CHANGE, "archive", " no path", " maximum 3"])
    changed = router.running_body()
    assert "interface Loopback9" in changed and "interface Loopback5" not in changed
    clock(router).advance(2 * 60 - 0.5)
    assert router.revert.pending is not None and router.running_body() == changed
    clock(router).advance(0.5)
    assert router.running_body() == before
    assert router.revert.pending is None and router.revert.reverts == 1
    assert router.revert.mismatch is None
    lo5 = next(p for p in router.state()["interfaces"] if p["name"] == "Loopback5")
    assert lo5["shutdown"] and lo5["description"] == "five"
    assert lo5["ipv4"][0]["address"] == "10.255.5.1"
    # The archived file stays on flash.
    assert len(router.archive.files) == 1


def test_expiry_puts_back_the_router_blocks(router: IosRouterCore) -> None:
    router.apply(
        [
            "router ospf 1",
            " router-id 10.255.0.1",
            "router bgp 65001",
            " neighbor 10.0.0.2 remote-as 65002",
        ]
    )
    before = router.running_body()
    router.run("configure terminal revert timer 1")
    router.apply(["router ospf 1", " router-id 10.255.0.9", "no router bgp 65001", "router ospf 2"])
    assert router.running_body() != before
    clock(router).advance(60)
    assert router.running_body() == before and router.revert.mismatch is None
    ospf = router.routing.find("ospf", 1)
    assert ospf is not None and str(ospf.router_id) == "10.255.0.1"
    assert router.routing.find("ospf", 2) is None
    bgp = router.routing.bgp()
    assert bgp is not None and bgp.live is not None  # back, and running again


def test_confirm_keeps_the_change(router: IosRouterCore) -> None:
    router.run("configure terminal revert timer 1")
    router.apply(CHANGE)
    changed = router.running_body()
    assert router.run("configure confirm") == ""
    clock(router).advance(10 * 60)
    assert router.running_body() == changed and router.revert.reverts == 0
    assert router.run("configure confirm") == archive.NO_PENDING + "\n"
    assert router.run("show archive config rollback timer") == archive.NO_PENDING + "\n"


def test_revert_now_and_timer_reset(router: IosRouterCore) -> None:
    before = router.running_body()
    router.run("configure terminal revert timer 3")
    assert router.run("configure terminal revert timer 3") == archive.ALREADY_PENDING + "\n"
    router.apply(CHANGE)
    clock(router).advance(2 * 60)
    assert router.run("configure revert timer 5") == ""
    clock(router).advance(4 * 60)
    assert router.revert.pending is not None
    shown = router.run("show archive config rollback timer").splitlines()
    assert re.fullmatch(r"Time configured\(or reconfigured\): \d\d:\d\d:\d\d UTC .+", shown[0])
    assert shown[1:] == ["Timer type: absolute timer", "Timer value: 5 min", "User: admin"]
    assert router.run("configure revert now") == ""
    assert router.running_body() == before
    assert router.run("configure revert now") == archive.NO_PENDING + "\n"


def test_idle_timer_restarts_at_each_line(router: IosRouterCore) -> None:
    before = router.running_body()
    router.run("configure terminal revert timer idle 1")
    for _ in range(3):
        clock(router).advance(50)
        router.revert.touch()  # what every line received over SSH does
    assert router.revert.pending is not None
    assert "Timer type: idle timer" in router.run("show archive config rollback timer")
    router.apply(CHANGE)
    clock(router).advance(60)
    assert router.running_body() == before


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("configure terminal revert timer 0", "invalid"),
        ("configure terminal revert timer 121", "invalid"),
        ("configure terminal revert timer idle 121", "invalid"),
        ("configure terminal revert timer soon", "invalid"),
        ("configure terminal revert timer", "incomplete"),
        ("configure terminal revert", "incomplete"),
        ("configure revert", "incomplete"),
        ("configure confirm now", "invalid"),
    ],
)
def test_timer_values_are_checked(router: IosRouterCore, command: str, answer: str) -> None:
    out = router.run(command)
    expected = "% Invalid input detected" if answer == "invalid" else "% Incomplete command."
    assert expected in out and router.revert.pending is None


def test_minute_knob() -> None:
    assert minute_seconds(None) == 60.0 and minute_seconds("0.5") == 0.5
    for bad in ("0", "-1", "fast", "99999"):
        with pytest.raises(SpecError, match=MINUTE_ENV):
            minute_seconds(bad)


# ------------------------------------------------------------------- over SSH


@pytest.fixture(scope="module")
def bed() -> Iterator[IosSimBed]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MINUTE_ENV, "1")
        specs = [
            DeviceSpec("r1", startup_config=STARTUP),
            DeviceSpec("r2", startup_config=STARTUP, archive=False),
        ]
        with IosSimBed(devices=specs) as running:
            yield running


def connect(bed: IosSimBed, name: str) -> Any:
    bed.reset(name)
    conn = ConnectHandler(**bed[name].netmiko_params())
    conn.enable()
    return conn


def test_lab_routers_boot_with_an_archive(bed: IosSimBed) -> None:
    state = bed.state("r1")
    assert state["archive"]["path"] == "flash:archive" and state["minute_seconds"] == 1.0
    assert "archive\n path flash:archive\n!\n" in state["running_config"]
    assert state["saved"]
    assert bed.state("r2")["archive"]["path"] is None


def test_a_dropped_session_is_reverted_by_the_router(bed: IosSimBed) -> None:
    before = bed.state("r1")["running_config"]
    conn = connect(bed, "r1")
    out = conn.send_command("configure terminal revert timer 4", expect_string=r"\(config\)#")
    assert BACKUP.search(out), out
    conn.send_config_set(CHANGE, enter_config_mode=False)
    changed = bed.state("r1")["running_config"]
    assert "interface Loopback9" in changed and changed != before
    assert bed.drop_sessions("r1") == 1
    with contextlib.suppress(Exception):
        conn.disconnect()
    assert bed.state("r1")["revert"] is not None
    assert wait_for(lambda: bed.state("r1")["reverts"] == 1, 10)
    state = bed.state("r1")
    assert state["running_config"] == before and state["revert"] is None
    assert state["revert_mismatch"] is None


def test_a_one_minute_timer_warns_after_the_prompt_and_confirm_keeps(bed: IosSimBed) -> None:
    conn = connect(bed, "r1")
    try:
        conn.write_channel("configure terminal revert timer 1\n")
        out = conn.read_until_pattern(pattern=r"you've configured", read_timeout=5)
        prompt_at = out.index("r1(config)#")
        assert out.index(archive.WARNING[0]) > prompt_at
        conn.write_channel("end\n")
        conn.read_until_pattern(pattern=r"r1#\s*$", read_timeout=5)
        conn.send_config_set(CHANGE)
        changed = bed.state("r1")["running_config"]
        assert conn.send_command("configure confirm") == ""
        assert conn.send_command("show archive config rollback timer") == archive.NO_PENDING
    finally:
        conn.disconnect()
    time.sleep(1.5)  # past the one-minute (one-second) timer
    state = bed.state("r1")
    assert state["running_config"] == changed and state["reverts"] == 0


def test_a_router_without_archive_refuses_over_ssh(bed: IosSimBed) -> None:
    conn = connect(bed, "r2")
    try:
        out = conn.send_command("configure terminal revert timer 1")
        assert out.strip() == archive.ARCHIVE_OFF
        assert conn.find_prompt() == "r2#"
    finally:
        conn.disconnect()
    assert bed.state("r2")["revert"] is None

"""IOS confirm-or-revert end to end: `loopbackctl apply` against simulated routers that
implement Configuration Rollback Confirmed Change (tests/test_iossim_revert.py), whose
IOS minute lasts MINUTE seconds ($IOSSIM_MINUTE_SECONDS), so `--confirm-timeout 60`
(one IOS minute) reverts after MINUTE seconds. The 10.x addresses are data sent to the
simulator only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopbackctl.errors import DeviceError
from loopbackctl.lab.iossim.server import MINUTE_ENV
from loopbackctl.platforms.base import Undo
from loopbackctl.platforms.cisco_ios.driver import revert_minutes
from tests.iossim import DeviceSpec, IosSimBed
from tests.test_ios_fleet import PASSWORD, SECRET, Fleet, _connect, lo0, startup
from tests.test_iossim import wait_for

ROOT = Path(__file__).resolve().parents[1]
MINUTE = 3.0
ROUTERS = ["r1", "r2", "r3"]


@pytest.fixture(scope="module")
def bed() -> Iterator[IosSimBed]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MINUTE_ENV, str(MINUTE))
        specs = [
            DeviceSpec(n, password=PASSWORD, secret=SECRET, startup_config=startup(i))
            for i, n in enumerate(ROUTERS, 1)
        ]
        specs.append(
            DeviceSpec("r4", password=PASSWORD, secret=SECRET, startup_config=startup(4),
                       archive=False)
        )  # fmt: skip
        with IosSimBed(devices=specs) as b:
            yield b


@pytest.fixture
def fleet(bed: IosSimBed, tmp_path: Path) -> Fleet:
    for name in [*ROUTERS, "r4"]:
        bed.reset(name)
    return Fleet(bed, tmp_path)


def lines(bed: IosSimBed, name: str) -> list[str]:
    return [e["line"].strip() for e in bed.state(name)["command_log"]]


def spawn_apply(fleet: Fleet, *args: str) -> subprocess.Popen[bytes]:
    """`loopbackctl apply ARGS` on the fleet, as a process of its own (to be killed)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LOOPBACKCTL_PASSWORD": PASSWORD,
        "LOOPBACKCTL_SECRET": SECRET,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "loopbackctl", "-i", str(fleet.inventory), "apply",
         "--known-hosts", str(fleet.dir / "known_hosts"), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip


def changed_lo0(i: int) -> dict[str, Any]:
    return lo0(i, description="changed", addresses=[f"10.255.0.{i}/32", f"10.255.9.{i}/32"])


def test_revert_minutes_round_up_within_ios_range() -> None:
    assert [revert_minutes(s) for s in (1, 59.5, 60, 61, 120, 7199, 7200, 99999)] == [
        1, 1, 1, 2, 2, 120, 120, 120,
    ]  # fmt: skip


def test_a_confirmed_apply_stays_past_the_timer(fleet: Fleet) -> None:
    bed = fleet.bed
    fleet.write({"r1": [changed_lo0(1)], "r2": [changed_lo0(2)]})
    run = fleet.run("apply", "--format", "json", "--confirm-timeout", "60")
    assert run.rc == 0, run.out + run.err
    intended = {n: bed.state(n)["running_config"] for n in ("r1", "r2")}
    for n in ("r1", "r2"):
        assert run.host(n)["status"] == "changed"
        sent = lines(bed, n)
        # One IOS minute asked; confirmed, then proven with nothing pending; then saved.
        at = sent.index("configure terminal revert timer 1")
        assert sent.index("configure confirm") > at
        assert sent.index("write memory") > sent.index("configure confirm")
        # The revert commands are not listed among what changed the device.
        assert not any("revert" in c or "confirm" in c for c in run.host(n)["commands"])
        assert "interface Loopback0" in run.host(n)["commands"]
    time.sleep(MINUTE * 1.5)  # past the one-minute timer
    for n in ("r1", "r2"):
        state = bed.state(n)
        assert state["running_config"] == intended[n] and state["reverts"] == 0
        assert state["revert"] is None and state["saved"]
    assert fleet.run("verify", "--format", "json").rc == 0


def test_a_session_dropped_before_confirm_confirms_over_a_new_one(fleet: Fleet) -> None:
    bed = fleet.bed
    fleet.write({"r1": [changed_lo0(1)]})
    bed.add_fault("r1", action="cut", match="configure confirm", times=1)
    run = fleet.run("apply", "--format", "json", "--confirm-timeout", "60")
    assert run.rc == 0, run.out
    assert run.host("r1")["status"] == "changed"
    intended = bed.state("r1")["running_config"]
    time.sleep(MINUTE * 1.5)
    assert bed.state("r1")["running_config"] == intended
    assert bed.state("r1")["reverts"] == 0


@pytest.mark.parametrize("where", ["before confirm", "mid-push"])
def test_a_killed_controller_is_reverted_by_the_router(fleet: Fleet, where: str) -> None:
    """SIGKILL while the run waits on the router: at the confirm (the change was pushed and
    proven) or in the middle of the push (some lines applied). The router puts back
    exactly the configuration archived when the timer started."""
    bed = fleet.bed
    before = bed.state("r1")["running_config"]
    fleet.write({"r1": [changed_lo0(1)]})
    if where == "before confirm":
        bed.add_fault("r1", action="hang", match="configure confirm")
        waits_on = "configure confirm"
    else:
        bed.add_fault("r1", action="hang", regex=r"ip address 10\.255\.9\.1 .*")
        waits_on = "ip address 10.255.9.1 255.255.255.255 secondary"
    proc = spawn_apply(fleet, "--confirm-timeout", "60", "--command-timeout", "60")
    try:
        assert wait_for(lambda: waits_on in lines(bed, "r1"), 30), lines(bed, "r1")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert bed.state("r1")["running_config"] != before  # the router holds part or all of it
    assert bed.state("r1")["revert"] is not None
    assert wait_for(lambda: bed.state("r1")["reverts"] == 1, MINUTE * 3)
    state = bed.state("r1")
    assert state["running_config"] == before and state["revert_mismatch"] is None
    bed.clear_faults("r1")
    fleet.write({"r1": [lo0(1)]})
    assert fleet.run("verify", "--format", "json").rc == 0


def test_no_archive_fails_that_host_alone_and_changes_nothing(fleet: Fleet) -> None:
    bed = fleet.bed
    before = bed.state("r4")["running_config"]
    fleet.write({"r2": [changed_lo0(2)], "r4": [changed_lo0(4)]})
    run = fleet.run("apply", "--format", "json")
    assert run.rc == 1
    assert run.host("r2")["status"] == "changed"
    host = run.host("r4")
    assert host["status"] == "failed"
    error = host["error"]
    assert "confirm-or-revert needs IOS's configuration archive" in error, error
    assert "`archive` with ` path flash:<name>`" in error and "--no-confirm" in error
    assert host["rollback"] == "nothing to undo"
    state = bed.state("r4")
    assert state["running_config"] == before and state["save_count"] == 0
    assert not [e for e in state["command_log"] if e["mode"].startswith("config")]
    # loopbackctl never configures the archive itself.
    assert not any(c.startswith(("archive", "path")) for c in lines(bed, "r4"))


def test_no_confirm_sends_no_revert_command(fleet: Fleet) -> None:
    bed = fleet.bed
    fleet.write({"r3": [changed_lo0(3)], "r4": [changed_lo0(4)]})
    run = fleet.run("apply", "--format", "json", "--no-confirm")
    assert run.rc == 0, run.out
    for n in ("r3", "r4"):
        assert run.host(n)["status"] == "changed"
        sent = lines(bed, n)
        assert not [c for c in sent if "revert" in c or "confirm" in c or "archive" in c]


def test_a_pending_timer_of_another_run_is_not_built_on(fleet: Fleet) -> None:
    bed = fleet.bed
    bed.run("r2", "configure terminal revert timer 100")
    before = bed.state("r2")["running_config"]
    fleet.write({"r2": [changed_lo0(2)]})
    run = fleet.run("apply", "--format", "json")
    host = run.host("r2")
    assert run.rc == 1 and host["status"] == "failed"
    assert "a revert timer is already pending on the router" in host["error"], host["error"]
    assert "Timer value: 100 min" in host["error"]
    assert bed.state("r2")["running_config"] == before
    bed.run("r2", "configure confirm")


def test_confirm_after_the_router_reverted_says_too_late(bed: IosSimBed, tmp_path: Path) -> None:
    bed.reset("r3")
    before = bed.state("r3")["running_config"]
    driver, session, host = _connect(bed, "r3", tmp_path)
    try:
        observed = driver.read(session, host)
        undo = Undo(observed, plan=None, commands=())  # type: ignore[arg-type]
        driver.arm(session, host, undo, 60)
        assert session.sent == []  # arming changes nothing the report lists
        driver.push(session, host, ["interface Loopback0", " description late"])
        bed.run("r3", "configure revert now")  # what the timer does when it expires
        with pytest.raises(DeviceError, match="came too late: the revert timer had expired"):
            driver.confirm(session, host)
    finally:
        session.close()
    assert bed.state("r3")["running_config"] == before


def test_the_one_minute_warning_between_commands_is_not_a_lost_session(
    bed: IosSimBed, tmp_path: Path
) -> None:
    """IOS prints `Rollback will begin in one minute.` on the arming session one minute
    before the timer runs out, whatever it is doing: before the next command's echo
    here (a two-minute timer, the session idle when it comes)."""
    bed.reset("r2")
    driver, session, host = _connect(bed, "r2", tmp_path)
    try:
        observed = driver.read(session, host)
        driver.arm(session, host, Undo(observed, plan=None, commands=()), 120)  # type: ignore[arg-type]
        time.sleep(MINUTE * 1.3)  # the warning comes after one IOS minute
        assert driver.read(session, host) == observed
        driver.confirm(session, host)
    finally:
        session.close()
    assert bed.state("r2")["revert"] is None

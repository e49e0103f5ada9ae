"""The controller dies mid-apply, on 20 simulated IOS routers (issue 14; the IOS
counterpart of the Linux/FRR SIGKILL test, in its style): `loopbackctl apply` is
SIGKILLed while some routers are done and others in flight; once every revert timer the
dead run armed has run out, every router is exactly as before or exactly as intended —
never a mix — and a following `verify` says which (drift, ok).

"Exactly": the simulator's running and startup configurations, as text, compared with
those read before the run and those a complete apply makes. loopbackctl saves (`write
memory`) only after it confirmed, so a router killed between its confirm and its save
runs as intended with its startup configuration as before: counted apart. The counts
are printed (as before, of which reverted by the router itself; as intended). One IOS
minute lasts MINUTE seconds here ($IOSSIM_MINUTE_SECONDS), so `--confirm-timeout 60`
arms a timer that runs out MINUTE seconds later.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopbackctl.lab.iossim.server import MINUTE_ENV
from tests.iossim import DeviceSpec, IosSimBed
from tests.test_confirm_ios import spawn_apply
from tests.test_ios_fleet import PASSWORD, SECRET, Fleet, lo0, startup

N = 20
PER_DEVICE = 30  # addresses each router gains: a push long enough to be caught in flight
MINUTE = 6.0  # seconds per IOS minute: the dead run's timers run out that long after arming
WORKERS = 3
ROOT = Path(__file__).resolve().parents[1]
NAMES = [f"r{i}" for i in range(1, N + 1)]


def new(i: int) -> list[str]:
    return [f"10.{100 + i}.0.{k}/32" for k in range(1, PER_DEVICE + 1)]


def old(i: int) -> list[str]:
    """Loopback9 on each router before, removed by the change."""
    return ["interface Loopback9", " description old", f" ip address 10.254.{i}.1 255.255.255.255"]


@pytest.fixture(scope="module")
def bed() -> Iterator[IosSimBed]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MINUTE_ENV, str(MINUTE))
        specs = [
            DeviceSpec(n, password=PASSWORD, secret=SECRET, startup_config=startup(i) + old(i))
            for i, n in enumerate(NAMES, 1)
        ]
        with IosSimBed(devices=specs) as b:
            yield b


def look(bed: IosSimBed, name: str) -> tuple[str, str]:
    """The router's exact state: (running configuration, startup configuration)."""
    state = bed.state(name)
    return state["running_config"], state["startup_config"]


def _kill_mid_apply(fleet: Fleet, before: dict[str, tuple[str, str]]) -> None:
    """Start `loopbackctl apply` as a process of its own and SIGKILL it once some routers
    are changed (others are then in flight or not started)."""
    proc = spawn_apply(fleet, "--workers", str(WORKERS), "--confirm-timeout", "60")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            started = [n for n in NAMES if fleet.bed.state(n)["running_config"] != before[n][0]]
            if len(started) >= WORKERS + 1:
                break
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigkill_mid_apply_leaves_each_router_as_before_or_as_intended(
    bed: IosSimBed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = Fleet(bed, tmp_path)
    fleet.write(
        {
            n: [
                lo0(i),
                {"name": "Loopback1", "description": "service", "addresses": new(i)},
                {"name": "Loopback9", "state": "absent"},
            ]
            for i, n in enumerate(NAMES, 1)
        }
    )
    before = {n: look(bed, n) for n in NAMES}
    assert all(run == saved for run, saved in before.values())
    _kill_mid_apply(fleet, before)
    killed = time.monotonic()
    # Every timer armed by the dead run runs out (or was confirmed) within a minute.
    at_kill = {n: bed.state(n) for n in NAMES}
    armed = {n for n, s in at_kill.items() if s["revert"] is not None}
    # Armed routers already (partly or wholly) changed: what the router itself must undo.
    caught = {n for n in armed if at_kill[n]["running_config"] != before[n][0]}
    deadline = killed + MINUTE + 60
    while time.monotonic() < deadline and any(bed.state(n)["revert"] for n in NAMES):
        time.sleep(0.2)
    states = {n: bed.state(n) for n in NAMES}
    assert not [n for n, s in states.items() if s["revert"] is not None], "timers pending"
    assert not [n for n, s in states.items() if s["revert_mismatch"]]
    after = {n: (s["running_config"], s["startup_config"]) for n, s in states.items()}
    reverted = {n for n, s in states.items() if s["reverts"]}

    r = fleet.run("verify", "--format", "json")
    verdict = {h["name"]: h["status"] for h in r.doc["hosts"]}

    # As intended: what a complete apply makes of each router.
    full = fleet.run("apply", "--no-confirm", "--format", "json")
    assert full.rc == 0, full.out + full.err
    intended = {n: look(bed, n) for n in NAMES}

    as_before, as_intended, unsaved, mixed = [], [], [], []
    for n in NAMES:
        run_now, saved_now = after[n]
        if after[n] == before[n]:
            as_before.append(n)
        elif after[n] == intended[n]:
            as_intended.append(n)
        elif (run_now, saved_now) == (intended[n][0], before[n][1]):
            unsaved.append(n)  # confirmed, killed before write memory
        else:
            mixed.append(n)
    with capsys.disabled():
        print(
            f"\n[sigkill cisco_ios] {len(as_before)} as before"
            f" ({len(reverted & set(as_before))} reverted by the router itself),"
            f" {len(as_intended) + len(unsaved)} as intended"
            f" ({len(unsaved)} of them not yet saved), {len(mixed)} mixed;"
            f" {len(armed)} timer(s) pending at the kill, {len(caught)} of them on a"
            " router already changed"
        )
    assert not mixed, {n: (before[n], after[n], intended[n]) for n in mixed}
    assert as_intended or unsaved, "no router was done when the run was killed"
    assert as_before, "every router was done when the run was killed"
    for n in as_before:
        assert verdict[n] == "drift", (n, verdict[n])
    for n in as_intended + unsaved:
        assert verdict[n] == "ok", (n, verdict[n])
    # Exactly the routers whose timer was pending when the run died were reverted.
    assert reverted == armed and reverted <= set(as_before)

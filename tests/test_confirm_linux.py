"""Confirm-or-revert on real Linux hosts (network namespaces with their own sshd, tests/bed):
a confirmed apply stays after the timeout; a change armed and never confirmed (the session
gone) is undone by the host itself, netplan file included; a failed read-back is rolled
back and its revert job cancelled. FRR's are in test_confirm_frr.

Never skipped: without root or sshd the bed fixture fails the test with the reason.
Addresses come from 198.18.0.0/15 and 2001:db8::/32 only.
"""

from __future__ import annotations

import time
from pathlib import Path

from loopbackctl.lab import sshd
from loopbackctl.platforms.base import SavedFile
from loopbackctl.platforms.linux import revert as linux_revert
from tests.confirm_helpers import armed_and_abandoned, cancel, job_state, jobs, revert_pids
from tests.linux_helpers import fleet, ip_lo, lo

V4 = "198.18.214.{}/32"
V6 = "2001:db8:214::{}/128"
NETPLAN = "60-loopbackctl-lo.yaml"


def _lbs(names: list[str]) -> dict[str, list[dict[str, object]]]:
    return {
        n: [{"name": "lo", "addresses": [V4.format(i), V6.format(i)]}]
        for i, n in enumerate(names, start=1)
    }


def _netplan(tmp: Path, names: list[str]) -> tuple[dict[str, Path], dict[str, dict[str, str]]]:
    """A netplan directory per host, and the host data that persists there."""
    dirs = {h: tmp / f"netplan-{h}" for h in names}
    for d in dirs.values():
        d.mkdir()
    return dirs, {h: {"persist": "netplan", "netplan_dir": str(d)} for h, d in dirs.items()}


def test_the_lab_gives_each_host_its_own_directory() -> None:
    assert sshd.HOST_DIR == linux_revert.HOST_DIR


def test_a_confirmed_apply_stays_after_the_timeout(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2)
    names = [h.name for h in bed]
    dirs, data = _netplan(tmp_path, names)
    f = fleet(bed, tmp_path, _lbs(names), host_data=data)
    r = f.run("apply", "--confirm-timeout", "2", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert [h["status"] for h in r.doc["hosts"]] == ["changed", "changed"]
    # Arming and confirming are not configuration commands: the report lists the change.
    assert r.host("h1")["commands"][0].startswith("ip address replace")
    after = {n: lo(bed, n) for n in names}
    files = {n: (dirs[n] / NETPLAN).read_text() for n in names}
    for n in names:
        assert job_state(bed[n]) == [] and revert_pids(bed[n]) == []
    time.sleep(4)  # twice the timeout
    assert {n: lo(bed, n) for n in names} == after
    assert {n: (dirs[n] / NETPLAN).read_text() for n in names} == files
    for i, n in enumerate(names, start=1):
        assert {V4.format(i), V6.format(i)} <= after[n][1]
    assert f.run("verify").rc == 0


def test_an_unconfirmed_change_is_undone_by_the_host(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2)
    names = [h.name for h in bed]
    dirs, data = _netplan(tmp_path, names)
    # h1's old file is long: its revert job does not fit one command line (sent in
    # pieces); h2 has none.
    site = "# the site's old file\n" + "".join(f"# note {k}: kept as it was\n" for k in range(200))
    (dirs["h1"] / NETPLAN).write_text(site)
    ip_lo(bed, "h1", "addr", "add", "198.18.214.99/32", "dev", "lo")  # someone else's
    ip_lo(bed, "h2", "link", "set", "lo", "down")  # h2's lo down (v4 kept)
    before = {n: lo(bed, n) for n in names}
    lbs = _lbs(names)
    lbs["h1"][0]["absent_addresses"] = ["198.18.214.99/32"]  # the change removes it too
    f = fleet(bed, tmp_path, lbs, host_data=data)
    todo = jobs(f.inventory)
    for n in names:
        old = (dirs[n] / NETPLAN).read_text() if (dirs[n] / NETPLAN).exists() else None
        armed_and_abandoned(todo[n], 3.0, SavedFile(f"{dirs[n]}/{NETPLAN}", old))
    changed = {n: lo(bed, n) for n in names}
    assert changed["h1"] != before["h1"] and changed["h2"] != before["h2"]
    assert (dirs["h2"] / NETPLAN).exists()
    assert all(revert_pids(bed[n]) for n in names)
    assert "armed" in job_state(bed["h1"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(revert_pids(bed[n]) for n in names):
        time.sleep(0.5)
    assert {n: lo(bed, n) for n in names} == before
    assert (dirs["h1"] / NETPLAN).read_text() == site
    assert not (dirs["h2"] / NETPLAN).exists()
    for n in names:
        assert "reverted" in job_state(bed[n])
        log = (bed[n].host_dir / "revert" / "log").read_text()
        assert "reverted" in log and "failed" not in log, log
    # The next apply arms again (a fired job is no obstacle) and converges.
    r = f.run("apply", "--confirm-timeout", "30")
    assert r.rc == 0, r.out + r.err
    assert f.run("verify").rc == 0


def test_a_failed_read_back_rolls_back_and_cancels_the_revert(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(1)
    before = lo(bed, "h1")
    templates = tmp_path / "templates" / "linux"
    templates.mkdir(parents=True)
    # A template that leaves the IPv6 address out: the read-back fails.
    (templates / "iproute2.j2").write_text(
        "{% for a in remove %}ip address del {{ a }} dev lo\n{% endfor %}"
        "{% for a in add %}{% if ':' not in a %}ip address replace {{ a }} dev lo\n"
        "{% endif %}{% endfor %}"
    )
    f = fleet(bed, tmp_path, _lbs(["h1"]))
    r = f.run(
        "apply", "--templates", str(tmp_path / "templates"), "--confirm-timeout", "3",
        "--format", "json",
    )  # fmt: skip
    assert r.rc == 1
    h1 = r.host("h1")
    assert h1["status"] == "failed" and h1["rollback"] == "restored", h1
    assert "by itself" not in h1["error"]
    assert lo(bed, "h1") == before
    assert revert_pids(bed["h1"]) == [] and job_state(bed["h1"]) == []
    ip_lo(bed, "h1", "addr", "add", V4.format(1), "dev", "lo")  # set by hand meanwhile
    time.sleep(5)  # past the timeout: no revert touches it
    assert V4.format(1) in lo(bed, "h1")[1]
    assert job_state(bed["h1"]) == []


def test_a_pending_revert_is_drift_and_refuses_a_second_change(linux_bed, tmp_path: Path) -> None:
    """A run died after its change went out: the host reads as intended, but its revert
    job will put it back: verify says so, and apply neither calls it ok nor arms again."""
    bed = linux_bed(1)
    f = fleet(bed, tmp_path, _lbs(["h1"]))
    job = jobs(f.inventory)["h1"]
    armed_and_abandoned(job, 60.0, None)
    r = f.run("verify", "--format", "json")
    h1 = r.host("h1")
    assert h1["status"] == "drift", h1
    (pending,) = [c for c in h1["checks"] if c["name"] == "revert pending"]
    assert not pending["ok"] and "puts back the state read before it at" in pending["detail"]
    r = f.run("apply", "--format", "json")
    h1 = r.host("h1")
    assert h1["status"] == "failed" and "revert pending" in h1["error"], h1
    assert h1["commands"] == []
    ip_lo(bed, "h1", "addr", "del", V4.format(1), "dev", "lo")
    r = f.run("apply", "--format", "json")
    h1 = r.host("h1")
    assert h1["status"] == "failed" and "still pending" in h1["error"], h1
    assert h1["error"].endswith("rolled back: nothing to undo") and h1["commands"] == []
    assert len(revert_pids(bed["h1"])) == 1
    cancel(job)
    assert revert_pids(bed["h1"]) == [] and job_state(bed["h1"]) == []
    assert f.run("apply").rc == 0
    assert f.run("verify").rc == 0

"""Shards and --processes against real hosts: N shard processes run at once against the
namespace bed (tests/bed) and `report merge` of their reports equals the unsharded run,
host by host and in every format; a duplicate router-id split across two shards on the
IOS simulator (tests/iossim); --processes against the bed, interrupted too.

Never skipped: without root or sshd the bed fixture fails the test with the reason.
Addresses come from 198.18.0.0/15 and 2001:db8::/32; 10.x only as simulator data.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopbackctl import fleet as fleet_module
from loopbackctl import shards
from loopbackctl.cli import main
from loopbackctl.inventory import load
from tests.clirun import Run, run_cli
from tests.iossim import DeviceSpec, IosSimBed
from tests.linux_helpers import descendants, fleet, ip_lo, lo
from tests.threads import alone

ROOT = Path(__file__).resolve().parent.parent
N_HOSTS = 12
V4, V6 = "198.18.201.{}/32", "2001:db8:201::{}/128"


def _hosts(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A JSON report's hosts without their durations (which no two runs share)."""
    return [{k: v for k, v in h.items() if k != "duration"} for h in doc["hosts"]]


def _untimed(junit: str) -> str:
    return re.sub(r' time="[0-9.]+"', "", junit)


def _merge(files: list[Path], *argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["report", "merge", *map(str, files), *argv])
    return Run(rc, out.getvalue(), err.getvalue())


def _shards_at_once(
    inventory: Path,
    known_hosts: Path,
    argv: list[str],
    n: int,
    where: Path,
    *,
    k8s: bool = False,
) -> list[Path]:
    """N `python -m loopbackctl ... --shard K/N --format json` processes started together
    (with k8s, `--shard job/N` and $JOB_COMPLETION_INDEX as a Kubernetes Indexed Job sets
    it); their reports, in files of a new directory under `where`."""
    where = where / f"run{len(list(where.glob('run*')))}"
    where.mkdir()
    procs = []
    for k in range(1, n + 1):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        spec = f"{k}/{n}"
        if k8s:
            env["JOB_COMPLETION_INDEX"] = str(k - 1)
            spec = f"job/{n}"
        out = where / f"shard-{k}.json"
        cmd = [sys.executable, "-m", "loopbackctl", "-i", str(inventory), argv[0],
               "--known-hosts", str(known_hosts), *argv[1:], "--shard", spec,
               "--format", "json"]  # fmt: skip
        with out.open("w") as f:
            procs.append((k, out, subprocess.Popen(cmd, stdout=f, stderr=subprocess.PIPE, env=env)))
    files = []
    for k, out, p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode in (0, 1), err.decode()
        assert f"shard {k}/{n}: " in err.decode()
        doc = json.loads(out.read_text())
        assert doc["shard"]["index"] == k and doc["shard"]["count"] == n
        files.append(out)
    return files


def test_concurrent_shards_merge_into_the_unsharded_run(linux_bed: Any, tmp_path: Path) -> None:
    bed = linux_bed(N_HOSTS, no_sshd=("h6",))
    names = [h.name for h in bed]
    lbs = {n: [{"name": "lo", "addresses": [V4.format(i), V6.format(i)]}] for i, n in
           enumerate(names, 1)}  # fmt: skip
    f = fleet(bed, tmp_path, lbs)
    # A switch loopbackctl does not drive, among the hosts: each run reports it skipped.
    doc = yaml.safe_load((f.inventory / "hosts.yaml").read_text())
    items = list(doc.items())
    items.insert(3, ("sw1", {"hostname": "198.18.250.1", "platform": "junos"}))
    (f.inventory / "hosts.yaml").write_text(yaml.safe_dump(dict(items), sort_keys=False))
    for i in (1, 2, 3, 4):  # already as intended
        ip_lo(bed, f"h{i}", "addr", "add", V4.format(i), "dev", "lo")
        ip_lo(bed, f"h{i}", "addr", "add", V6.format(i), "dev", "lo")
    ip_lo(bed, "h5", "addr", "add", "198.18.209.5/32", "dev", "lo")  # unmanaged
    ip_lo(bed, "h7", "link", "set", "dev", "lo", "down")
    assert {shards.shard_of(n, 3) for n in names} == {1, 2, 3}

    # verify: three shards at once (they also share one known_hosts, accept-new)
    files = _shards_at_once(f.inventory, f.known_hosts, ["verify"], 3, tmp_path)
    one = f.run("verify", "--format", "json")
    merged = _merge(files, "--format", "json")
    assert merged.rc == one.rc == 1, merged.err
    assert _hosts(merged.doc) == _hosts(one.doc)
    assert merged.doc["summary"] == one.doc["summary"]
    statuses = {h["name"]: h["status"] for h in one.doc["hosts"]}
    assert [h["name"] for h in one.doc["hosts"]][3] == "sw1" and statuses["sw1"] == "skipped"
    assert statuses["h1"] == "ok" and statuses["h6"] == "unreachable"
    assert statuses["h7"] == "drift" and one.host("h5")["unmanaged"] == ["198.18.209.5/32"]
    assert _merge(files).out == f.run("verify").out  # the table
    junit = _untimed(_merge(files, "--format", "junit").out)
    assert junit == _untimed(f.run("verify", "--format", "junit").out)
    # the same hosts, spread over processes instead of shards
    procs = f.run("verify", "--format", "json", "--processes", "3", "--workers", "6")
    assert procs.rc == 1 and _hosts(procs.doc) == _hosts(one.doc)

    # apply --check --diff, shards as a Kubernetes Indexed Job runs them
    before = {n: lo(bed, n) for n in names}
    files = _shards_at_once(
        f.inventory, f.known_hosts, ["apply", "--check", "--diff"], 3, tmp_path, k8s=True
    )
    one = f.run("apply", "--check", "--diff", "--format", "json")
    merged = _merge(files, "--format", "json")
    assert merged.rc == one.rc == 1
    assert _hosts(merged.doc) == _hosts(one.doc)
    assert any(h["commands"] and h["diff"] for h in merged.doc["hosts"])
    assert {n: lo(bed, n) for n in names} == before
    # a verify shard and an apply shard are not one run
    mixed = _merge([files[0], *_shards_at_once(f.inventory, f.known_hosts, ["verify"], 3,
                                                tmp_path)[1:]])  # fmt: skip
    assert mixed.rc == 2 and "not shards of one run" in mixed.err

    # apply for real, sharded: the fleet converges
    files = _shards_at_once(f.inventory, f.known_hosts, ["apply"], 3, tmp_path)
    applied = _merge(files, "--format", "json")
    assert applied.rc == 1  # h6 is unreachable
    assert {h["name"]: h["status"] for h in applied.doc["hosts"]} == {
        "sw1": "skipped",
        **{
            n: "unreachable" if n == "h6" else "ok" if n in ("h1", "h2", "h3", "h4") else "changed"
            for n in names
        },
    }
    again = f.run("verify", "--format", "json")
    assert {h["status"] for h in again.doc["hosts"] if h["name"] not in ("h6", "sw1")} == {"ok"}


def test_interrupted_processes_finish_hosts_in_flight_and_exit_130(
    linux_bed: Any, tmp_path: Path
) -> None:
    bed = linux_bed(12)
    names = [h.name for h in bed]
    per_host = 60
    lbs = {n: [{"name": "lo", "addresses": [f"198.18.{230 + i}.{k}/32" for k in
                                            range(1, per_host + 1)]}]
           for i, n in enumerate(names, 1)}  # fmt: skip
    f = fleet(bed, tmp_path, lbs)
    before = {n: lo(bed, n) for n in names}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopbackctl", "-i", str(f.inventory), "apply",
         "--known-hosts", str(f.known_hosts), "--workers", "2", "--processes", "2",
         "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            children |= set(descendants(proc.pid))
            if any(lo(bed, n)[1] != before[n][1] for n in names[:2]):  # the first claimed
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        children |= set(descendants(proc.pid))
        proc.send_signal(signal.SIGTERM)  # the parent only: it must pass it on
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert len(children) >= 2
    doc = json.loads(out)
    assert [h["name"] for h in doc["hosts"]] == names
    changed = [h["name"] for h in doc["hosts"] if h["status"] == "changed"]
    assert 1 <= len(changed) < len(names), doc["summary"]
    for i, n in enumerate(names, 1):
        up, addrs = lo(bed, n)
        if n in changed:
            assert {f"198.18.{230 + i}.{k}/32" for k in range(1, per_host + 1)} <= addrs
        else:
            assert (up, addrs) == before[n], n  # untouched, never half-applied
            (h,) = [h for h in doc["hosts"] if h["name"] == n]
            assert h["status"] == "failed" and "interrupted" in h["error"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
        time.sleep(0.05)
    assert not [c for c in children if Path(f"/proc/{c}").exists()], "a process was left"


def test_a_parent_killed_outright_takes_its_processes_with_it(
    linux_bed: Any, tmp_path: Path
) -> None:
    # Every host's sshd is stopped: each process hangs in an SSH handshake that would last
    # --connect-timeout (60 s), unless it dies with its parent.
    bed = linux_bed(4)
    f = fleet(bed, tmp_path, {h.name: [{"name": "lo", "addresses": []}] for h in bed})
    sshds = [h.sshd_pid for h in bed]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children: set[int] = set()
    for pid in sshds:
        os.kill(pid, signal.SIGSTOP)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loopbackctl", "-i", str(f.inventory), "verify",
             "--known-hosts", str(f.known_hosts), "--workers", "2", "--processes", "2",
             "--connect-timeout", "60"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(children) < 2:
                children |= set(descendants(proc.pid))
                time.sleep(0.05)
            assert len(children) >= 2 and proc.poll() is None
            time.sleep(1)  # both in their handshakes
            proc.kill()  # SIGKILL, the parent only
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
            time.sleep(0.05)
        assert not [c for c in children if Path(f"/proc/{c}").exists()], "an orphan went on"
    finally:
        for pid in sshds:
            os.kill(pid, signal.SIGCONT)


# -- router-ids across shards (IOS simulator) ----------------------------------------

ROUTERS = ["r1", "r2", "r3", "r4"]
PASSWORD, SECRET = "admin", "enable"


def _lo0(i: int) -> list[str]:
    return ["interface Loopback0", f" ip address 10.255.0.{i} 255.255.255.255"]


def _router(name: str, address: int) -> DeviceSpec:
    return DeviceSpec(name, password=PASSWORD, secret=SECRET, startup_config=_lo0(address))


@pytest.fixture(scope="module")
def ios() -> Iterator[IosSimBed]:
    with IosSimBed(devices=[_router(r, i) for i, r in enumerate(ROUTERS, 1)]) as bed:
        yield bed


def _ios_inventory(bed: IosSimBed, where: Path, routers: list[str]) -> Path:
    """Router rN's Loopback0 with 10.255.0.N, as `_router(rN, N)` boots with it."""
    hosts = {
        r: {
            "hostname": bed[r].host,
            "port": bed[r].port,
            "platform": "cisco_ios",
            "username": bed[r].username,
            "data": {"loopbacks": [{"name": "Loopback0", "addresses": [f"10.255.0.{r[1:]}/32"]}]},
        }
        for r in routers
    }
    inv = where / "inventory"
    inv.mkdir(exist_ok=True)
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return inv


def _ios_run(inv: Path, where: Path, *argv: str) -> Run:
    env = {"LOOPBACKCTL_PASSWORD": PASSWORD, "LOOPBACKCTL_SECRET": SECRET}
    return run_cli(inv, where / "known_hosts", argv, env)


def test_a_router_id_shared_across_two_shards_fails_both_in_the_merge(
    ios: IosSimBed, tmp_path: Path
) -> None:
    # r2 and r3 land in different shards of 2; both take 10.255.99.99 as router-id from a
    # loopback the inventory does not name. r1 and r4 share nothing.
    assert shards.shard_of("r2", 2) != shards.shard_of("r3", 2)
    for r in ROUTERS:
        ios.reset(r)
    for r in ("r2", "r3"):
        ios.apply(r, ["interface Loopback99", " ip address 10.255.99.99 255.255.255.255"])
    inv = _ios_inventory(ios, tmp_path, ROUTERS)
    one = _ios_run(inv, tmp_path, "verify", "--format", "json")
    assert one.rc == 1, one.err
    assert {h["name"]: h["status"] for h in one.doc["hosts"]} == {
        "r1": "ok", "r2": "drift", "r3": "drift", "r4": "ok"
    }  # fmt: skip

    files = []
    for k in (1, 2):
        part = _ios_run(inv, tmp_path, "verify", "--format", "json", "--shard", f"{k}/2")
        assert part.rc == 0, part.err  # alone, no shard can see the clash
        for h in part.doc["hosts"]:
            assert h["status"] == "ok"
            (rid,) = [c for c in h["checks"] if c["name"] == "router-id"]
            assert rid["ok"] and rid["severity"] == "info" and "report merge" in rid["detail"]
        files.append(tmp_path / f"ios-{k}.json")
        files[-1].write_text(part.out)
    merged = _merge(files, "--format", "json")
    assert merged.rc == 1
    assert _hosts(merged.doc) == _hosts(one.doc)
    (r2,) = [c for c in merged.doc["hosts"][1]["checks"] if c["name"] == "router-id"]
    assert not r2["ok"] and "r3" in r2["detail"]
    for r in ("r2", "r3"):
        ios.reset(r)


def test_an_empty_shard_reports_no_host_and_merges(ios: IosSimBed, tmp_path: Path) -> None:
    for r in ROUTERS:
        ios.reset(r)
    inv = _ios_inventory(ios, tmp_path, ["r1"])
    mine = shards.shard_of("r1", 2)
    empty = _ios_run(inv, tmp_path, "verify", "--shard", f"{3 - mine}/2", "--format", "json")
    assert empty.rc == 0, empty.err
    assert empty.doc["hosts"] == [] and empty.doc["summary"]["total"] == 0
    assert f"shard {3 - mine}/2: 0 of the 1 selected host(s)" in empty.err
    table = _ios_run(inv, tmp_path, "verify", "--shard", f"{3 - mine}/2")
    assert table.rc == 0 and table.out.splitlines()[-1] == "0 host(s)"
    full = _ios_run(inv, tmp_path, "verify", "--shard", f"{mine}/2", "--format", "json")
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    files[0].write_text(empty.out)
    files[1].write_text(full.out)
    one = _ios_run(inv, tmp_path, "verify", "--format", "json")
    merged = _merge(files, "--format", "json")
    assert merged.rc == one.rc == 0 and _hosts(merged.doc) == _hosts(one.doc)


def test_shard_usage_errors_exit_2_before_any_contact(ios: IosSimBed, tmp_path: Path) -> None:
    inv = _ios_inventory(ios, tmp_path, ROUTERS)
    before = {r: len(ios.state(r)["command_log"]) for r in ROUTERS}
    for argv, message in (
        (["--shard", "3/2"], "K must be between 1 and N"),
        (["--shard", "job/2"], "$JOB_COMPLETION_INDEX is not set"),
        (["--shard", "two"], "write K/N"),
        (["--processes", "0"], "must be 1 or more"),
    ):
        run = _ios_run(inv, tmp_path, "verify", *argv)
        assert run.rc == 2 and message in run.err, run.err
        assert run.out == ""
    assert {r: len(ios.state(r)["command_log"]) for r in ROUTERS} == before


def test_ios_apply_in_processes(ios: IosSimBed, tmp_path: Path) -> None:
    # apply's remediation (hier_config) is loaded in each process, never across the fork
    for r in ROUTERS:
        ios.reset(r)
        ios.apply(r, ["interface Loopback0", " description stale"])
    inv = _ios_inventory(ios, tmp_path, ROUTERS)
    run = _ios_run(inv, tmp_path, "apply", "--format", "json", "--processes", "2")
    assert run.rc == 0, run.out + run.err
    assert {h["status"] for h in run.doc["hosts"]} == {"changed"}
    assert all(h["commands"] for h in run.doc["hosts"])
    again = _ios_run(inv, tmp_path, "verify", "--format", "json", "--processes", "2")
    assert again.rc == 0 and {h["status"] for h in again.doc["hosts"]} == {"ok"}


def test_a_default_run_of_eight_ios_routers_forks_and_reports_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"r{i}" for i in range(1, 9)]
    # r8 drifts: it boots with another address than the inventory's
    specs = [_router(r, i if r != "r8" else 99) for i, r in enumerate(names, 1)]
    with IosSimBed(devices=specs) as bed:
        inv = _ios_inventory(bed, tmp_path, names)
        monkeypatch.setenv("LOOPBACKCTL_PASSWORD", PASSWORD)
        monkeypatch.setenv("LOOPBACKCTL_SECRET", SECRET)
        opts = fleet_module.FleetOptions("verify", known_hosts=str(tmp_path / "known_hosts"))
        inventory, _ = load(str(inv))
        alone()  # the sessions of earlier tests have ended
        started = fleet_module.start(fleet_module.jobs(opts, inventory), opts)
        cores = len(os.sched_getaffinity(0))
        assert started.processes == min(cores, 2)
        assert (started.pool is not None) == (cores > 1)
        statuses = {r.name: r.status for r in started.wait()}
        assert statuses == {**{r: "ok" for r in names[:7]}, "r8": "drift"}
        default = _ios_run(inv, tmp_path, "verify", "--format", "json")
        one = _ios_run(inv, tmp_path, "verify", "--format", "json", "--processes", "1")
        assert default.rc == one.rc == 1 and _hosts(default.doc) == _hosts(one.doc)

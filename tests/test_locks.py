"""apply's per-device lock (loopbackctl.locks): two runs never change one device at once.

Two real loopbackctl processes against the Linux bed (the lock held by the host's shell,
released by the host's kernel with the session) and against simulated IOS routers (the
lock in the controller's lock directory); verify takes none; the loser reports
`locked by another loopbackctl run (pid P on controller C since T)` and its other devices
proceed. The 10.x addresses are data sent to the simulator only."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from loopbackctl import locks
from loopbackctl.errors import LockedError, UsageError
from loopbackctl.model import Host
from tests.clirun import run_cli
from tests.iossim import DeviceSpec, IosSimBed
from tests.linux_helpers import fleet, lo

ROOT = Path(__file__).resolve().parent.parent
HELD = re.compile(
    r"locked by another loopbackctl run \(pid (\d+) on controller (\S+) since"
    r" \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)"
)


def _addresses(i: int, n: int) -> list[str]:
    return [f"198.18.{200 + 2 * i + k // 250}.{k % 250 + 1}/32" for k in range(n)]


def _start(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "loopbackctl", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full,
    )  # fmt: skip


def _until(what: str, ok: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not ok():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended before {what}: {out[-2000:]} {err[-2000:]}")
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.001)


def _free(path: Path) -> bool:
    """Nobody holds flock on `path` (taken and let go at once)."""
    with path.open("rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test stops (SIGSTOP): continued and ended whatever happens."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGCONT)
            p.kill()
            p.wait()


# -- the controller's lock directory, in this process ----------------------------------


def test_dir_lock_names_its_holder_and_is_free_again_once_released(tmp_path: Path) -> None:
    d = tmp_path / "locks"
    locks.check_dir(str(d))
    assert stat.S_IMODE(d.stat().st_mode) == 0o1777  # every operator's runs write there
    host = Host("r1", "cisco_ios", hostname="192.0.2.1", port=2222)
    path = locks.lock_file(str(d), host)
    assert path.name == "192.0.2.1_2222.lock"
    first = locks.DirLock(path, locks.since("pid 1 on controller a"))
    with pytest.raises(LockedError) as caught:
        locks.DirLock(path, "pid 2 on controller b")  # another open file: flock excludes it
    assert HELD.fullmatch(str(caught.value)), caught.value
    assert "(pid 1 on controller a since " in str(caught.value)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666
    first.release()
    again = locks.DirLock(path, "pid 2 on controller b since T")
    assert path.read_text() == "pid 2 on controller b since T\n"
    again.release()


def test_a_lock_dir_that_cannot_be_used_stops_apply_before_any_device(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(UsageError, match="cannot use the lock directory"):
        locks.check_dir(str(not_a_dir / "locks"))
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(
        yaml.safe_dump(
            {
                "r1": {
                    "hostname": "127.0.0.1",
                    "port": 9,  # never contacted
                    "platform": "cisco_ios",
                    "data": {"loopbacks": [{"name": "Loopback0", "addresses": ["10.1.1.1/32"]}]},
                }
            }
        )
    )
    r = run_cli(inv, tmp_path / "kh", ["apply", "--lock-dir", str(not_a_dir / "locks")])
    assert r.rc == 2, r.out + r.err
    assert "cannot use the lock directory" in r.err and "--lock-dir" in r.err
    r = run_cli(inv, tmp_path / "kh", ["apply"], {"LOOPBACKCTL_LOCK_DIR": str(not_a_dir)})
    assert r.rc == 2 and "(not a directory)" in r.err, r.err
    r = run_cli(
        inv, tmp_path / "kh", ["apply", "--check"], {"LOOPBACKCTL_LOCK_DIR": str(not_a_dir)}
    )
    assert "lock" not in r.err  # --check takes no lock (it then fails to connect: port 9)


# -- Linux: the host's shell holds the lock --------------------------------------------


def test_linux_second_run_reports_the_locked_host_and_applies_the_others(
    linux_bed, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    bed = linux_bed(3)
    names = [h.name for h in bed]
    # h2 gets many addresses: its change takes long enough for the test to catch run A
    # holding its lock (A is then stopped, SIGSTOP, until run B has finished).
    lbs = {n: [{"name": "lo", "addresses": _addresses(i, 300 if n == "h2" else 3)}]
           for i, n in enumerate(names, 1)}  # fmt: skip
    f = fleet(bed, tmp_path, lbs)
    lock = bed["h2"].lock_dir / "loopbackctl.lock"
    common = ["-i", str(f.inventory), "apply", "--known-hosts", str(f.known_hosts),
              "--format", "json"]  # fmt: skip
    a = _start([*common, "--limit", "h2"])
    stopped.append(a)
    _until("run A holds h2's lock", lambda: f"pid {a.pid} " in _text(lock), a)
    os.kill(a.pid, signal.SIGSTOP)
    assert not _free(lock)

    b = _start(common)
    out, err = b.communicate(timeout=120)
    assert b.returncode == 1, err
    hosts = {h["name"]: h for h in json.loads(out)["hosts"]}
    h2 = hosts["h2"]
    assert h2["status"] == "failed" and h2["commands"] == [], h2
    m = HELD.search(h2["error"])
    assert m is not None, h2["error"]
    assert (int(m.group(1)), m.group(2)) == (a.pid, socket.gethostname())
    for i, n in ((1, "h1"), (3, "h3")):
        assert hosts[n]["status"] == "changed", hosts[n]
        assert set(_addresses(i, 3)) <= lo(bed, n)[1]

    # verify reads only: it takes no lock, and runs while A holds h2's.
    v = run_cli(f.inventory, f.known_hosts, ["verify", "--limit", "h2", "--format", "json"])
    assert v.host("h2")["status"] in ("ok", "drift"), v.out + v.err
    assert "locked" not in v.out

    os.kill(a.pid, signal.SIGCONT)
    out, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    assert json.loads(out)["hosts"][0]["status"] == "changed"
    assert set(_addresses(2, 300)) <= lo(bed, "h2")[1]
    assert _free(lock)  # the session ended: the host's kernel let go of it


def test_linux_lock_dies_with_the_controller(
    linux_bed, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    """SIGKILL the run holding a host's lock: the host's kernel releases it as the
    session ends (no stale lock), and the next run takes the host."""
    bed = linux_bed(1)
    f = fleet(bed, tmp_path, {"h1": [{"name": "lo", "addresses": _addresses(1, 300)}]})
    lock = bed["h1"].lock_dir / "loopbackctl.lock"
    argv = ["-i", str(f.inventory), "apply", "--known-hosts", str(f.known_hosts),
            "--format", "json"]  # fmt: skip
    a = _start(argv)
    stopped.append(a)
    _until("run A holds h1's lock", lambda: f"pid {a.pid} " in _text(lock), a)
    a.kill()
    a.wait()
    deadline = time.monotonic() + 30
    while not _free(lock):
        assert time.monotonic() < deadline, "the lock outlived its run's session"
        time.sleep(0.05)
    r = f.run("apply", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert r.host("h1")["status"] in ("changed", "ok")
    assert set(_addresses(1, 300)) <= lo(bed, "h1")[1]


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# -- IOS: the controller's lock directory ----------------------------------------------


@pytest.fixture(scope="module")
def ios() -> Iterator[IosSimBed]:
    specs = [DeviceSpec(n, password="admin", secret="enable") for n in ("r1", "r2")]
    with IosSimBed(devices=specs) as b:
        yield b


def test_ios_second_run_reports_the_locked_router_and_applies_the_other(
    ios: IosSimBed, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    """Run A hangs in r1's configuration (the simulator stops answering: a device that is
    slow mid-push) while it holds r1's lock in the shared lock directory; run B reports
    r1 locked by A and changes r2. A is then killed: its lock dies with its process and a
    third run takes r1."""
    for n in ("r1", "r2"):
        ios.reset(n)
    inv = tmp_path / "inventory"
    inv.mkdir()
    doc = {
        n: {
            "hostname": ios[n].host,
            "port": ios[n].port,
            "platform": "cisco_ios",
            "username": ios[n].username,
            "data": {"loopbacks": [{"name": "Loopback7", "addresses": [f"10.77.0.{i}/32"]}]},
        }
        for i, n in enumerate(("r1", "r2"), 1)
    }
    (inv / "hosts.yaml").write_text(yaml.safe_dump(doc))
    lock_dir = tmp_path / "shared-locks"
    env = {"LOOPBACKCTL_PASSWORD": "admin", "LOOPBACKCTL_SECRET": "enable",
           "LOOPBACKCTL_LOCK_DIR": str(lock_dir)}  # fmt: skip
    common = ["-i", str(inv), "apply", "--known-hosts", str(tmp_path / "kh"), "--format",
              "json", "--command-timeout", "120"]  # fmt: skip
    ios.add_fault("r1", action="hang", at_config_line=1)
    a = _start([*common, "--limit", "r1"], env)
    stopped.append(a)
    lock = lock_dir / f"{ios['r1'].host}_{ios['r1'].port}.lock"
    _until("run A holds r1's lock", lambda: f"pid {a.pid} " in _text(lock), a)

    b = _start(common, env)
    out, err = b.communicate(timeout=120)
    assert b.returncode == 1, err
    hosts = {h["name"]: h for h in json.loads(out)["hosts"]}
    r1 = hosts["r1"]
    assert r1["status"] == "failed" and r1["commands"] == [], r1
    m = HELD.search(r1["error"])
    assert m is not None, r1["error"]
    assert (int(m.group(1)), m.group(2)) == (a.pid, socket.gethostname())
    assert hosts["r2"]["status"] == "changed", hosts["r2"]
    assert not _free(lock)

    a.kill()
    a.wait()
    assert _free(lock)  # the controller's kernel let go of it with the process
    ios.clear_faults("r1")
    # A armed r1's revert timer before it hung: the router keeps it pending until it
    # expires or is confirmed (apply refuses to arm over it). Confirmed by hand, as an
    # operator would, so the third run gets on with it.
    ios.run("r1", "configure confirm")
    r = run_cli(inv, tmp_path / "kh", ["apply", "--limit", "r1", "--format", "json"], env)
    assert r.rc == 0, r.out + r.err
    assert r.host("r1")["status"] == "changed"

"""Ctrl-C, SIGTERM or SIGHUP mid-run: hosts in flight finish (or roll back), no new host
starts, the report is printed, exit 130, and no host is left half-applied; a second
Ctrl-C lists the hosts still in flight."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.linux_helpers import fleet, lo

N = 12
PER_HOST = 60


def _addresses(i: int) -> list[str]:
    return [f"198.18.{240 + i}.{k}/32" for k in range(1, PER_HOST + 1)]


@pytest.mark.parametrize(
    ("sig", "processes", "group"),
    [
        (signal.SIGINT, 1, False),
        (signal.SIGTERM, 1, False),
        # A closed terminal: SIGHUP to the parent alone, and to the whole process group
        # (what the kernel does to the foreground job), with the --processes children.
        (signal.SIGHUP, 1, False),
        (signal.SIGHUP, 2, True),
    ],
    ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGHUP-group-processes"],
)
def test_stop_signal_mid_apply_finishes_in_flight_hosts_and_exits_130(
    linux_bed, tmp_path: Path, sig: signal.Signals, processes: int, group: bool
) -> None:
    bed = linux_bed(N)
    names = [h.name for h in bed]
    lbs = {n: [{"name": "lo", "addresses": _addresses(i)}] for i, n in enumerate(names, 1)}
    f = fleet(bed, tmp_path, lbs)
    before = {n: lo(bed, n) for n in names}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopbackctl", "-i", str(f.inventory), "apply",
         "--known-hosts", str(f.known_hosts), "--workers", "2", "--format", "json",
         "--processes", str(processes)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=group,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(lo(bed, n)[1] != before[n][1] for n in names[:2]):
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    doc = json.loads(out)
    assert [h["name"] for h in doc["hosts"]] == names
    statuses = {h["name"]: h for h in doc["hosts"]}
    changed = [n for n, h in statuses.items() if h["status"] == "changed"]
    untouched = [n for n, h in statuses.items() if h["status"] != "changed"]
    assert changed, "a host in flight should have finished"
    assert untouched, "hosts after the interrupt should not have started"
    for i, n in enumerate(names, 1):
        up, addrs = lo(bed, n)
        if n in changed:
            assert set(_addresses(i)) <= addrs, n
        else:
            assert (up, addrs) == before[n], n  # untouched, never half-applied
            assert statuses[n]["status"] == "failed"
            assert "interrupted" in statuses[n]["error"]


def _connected(bed, host: str) -> bool:
    """A TCP connection to the host's sshd is established (accepted or not)."""
    res = bed.exec(host, ["ss", "-Htn", "state", "established"], check=True)
    return bool(res.stdout.strip())


def _wait_for(path: Path, text: str, proc: subprocess.Popen[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = path.read_text()
        if text in seen:
            return seen
        assert proc.poll() is None, f"the run ended first: {seen}"
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared on stderr: {path.read_text()}")


def test_second_sigint_lists_the_hosts_in_flight_and_abandons_none(
    linux_bed, tmp_path: Path
) -> None:
    """h1's sshd is stopped (SIGSTOP) before the run: its connection waits for the SSH
    banner, so h1 is in flight for as long as the test says. Two Ctrl-Cs: the second
    names h1; once sshd goes on, h1 finishes its turn (it sees the interrupt before any
    change) and the run exits 130 with every host as before."""
    bed = linux_bed(3)
    names = [h.name for h in bed]
    lbs = {n: [{"name": "lo", "addresses": _addresses(i)}] for i, n in enumerate(names, 1)}
    f = fleet(bed, tmp_path, lbs)
    before = {n: lo(bed, n) for n in names}
    sshd = bed["h1"].sshd_pid
    assert sshd is not None
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    errfile = tmp_path / "stderr"
    os.kill(sshd, signal.SIGSTOP)
    try:
        with errfile.open("w") as err_out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "loopbackctl", "-i", str(f.inventory), "apply",
                 "--known-hosts", str(f.known_hosts), "--workers", "1", "--format", "json",
                 "--connect-timeout", "120"],
                stdout=subprocess.PIPE, stderr=err_out, text=True, env=env,
            )  # fmt: skip
        try:
            # h1 is in flight once its TCP connection waits in the stopped sshd's queue.
            deadline = time.monotonic() + 60
            while not _connected(bed, "h1"):
                assert time.monotonic() < deadline, "the run never connected to h1"
                assert proc.poll() is None
                time.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            _wait_for(errfile, "interrupted;", proc)
            proc.send_signal(signal.SIGINT)
            seen = _wait_for(errfile, "still in flight", proc)
            assert "still in flight, each finishing or rolling back" in seen
            listed = seen.split("mid-push): ", 1)[1].splitlines()[0]
            assert listed == "h1", seen
        finally:
            os.kill(sshd, signal.SIGCONT)
        out, _ = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(sshd, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, errfile.read_text()
    hosts = {h["name"]: h for h in json.loads(out)["hosts"]}
    assert "interrupted before any change" in hosts["h1"]["error"], hosts["h1"]
    for n in ("h2", "h3"):
        assert "not contacted: interrupted" in hosts[n]["error"], hosts[n]
    for n in names:
        assert lo(bed, n) == before[n], n

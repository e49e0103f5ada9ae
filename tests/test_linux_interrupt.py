"""Ctrl-C mid-run: hosts in flight finish (or roll back), no new host starts, the report
is printed, exit 130, and no host is left half-applied."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.linux_helpers import fleet, lo

N = 12
PER_HOST = 60


def _addresses(i: int) -> list[str]:
    return [f"198.18.{240 + i}.{k}/32" for k in range(1, PER_HOST + 1)]


def test_sigint_mid_apply_finishes_in_flight_hosts_and_exits_130(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(N)
    names = [h.name for h in bed]
    lbs = {n: [{"name": "lo", "addresses": _addresses(i)}] for i, n in enumerate(names, 1)}
    f = fleet(bed, tmp_path, lbs)
    before = {n: lo(bed, n) for n in names}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopbackctl", "-i", str(f.inventory), "apply",
         "--known-hosts", str(f.known_hosts), "--workers", "2", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(lo(bed, n)[1] != before[n][1] for n in names[:2]):
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
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

"""The open-files limit: a fleet run under a low `ulimit -n` works fewer hosts at once and
says so in one line, instead of failing hosts with "Too many open files"; a low soft
limit under a higher hard one is simply raised.

Against the namespace bed (tests/bed), in a subprocess so the limit is the run's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.linux_helpers import fleet

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 60
V4 = "198.18.202.{}/32"


def _limited(ulimit: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`ulimit ULIMIT` (sh's: -n sets soft and hard, -Sn the soft limit), then
    `python -m loopbackctl ARGV`."""
    return subprocess.run(
        ["/bin/sh", "-c", f'ulimit {ulimit} && exec "$@"', "sh",
         sys.executable, "-m", "loopbackctl", *argv],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_a_low_limit_caps_workers_in_one_line_and_every_host_is_checked(
    linux_bed: Any, tmp_path: Path
) -> None:
    bed = linux_bed(HOSTS)
    names = [h.name for h in bed]
    f = fleet(bed, tmp_path, {n: [{"name": "lo", "addresses": [V4.format(i)]}]
                              for i, n in enumerate(names, 1)})  # fmt: skip
    base = ["-i", str(f.inventory), "verify", "--known-hosts", str(f.known_hosts),
            "--format", "json", "--connect-timeout", "60"]  # fmt: skip
    for extra in (["--workers", "60"], ["--workers", "200", "--processes", "2"]):
        res = _limited("-n 64", [*base, *extra])
        assert "Too many open files" not in res.stdout + res.stderr
        assert res.returncode == 1, res.stderr  # every host drifts: its address is missing
        lines = [line for line in res.stderr.splitlines() if line]
        assert len(lines) == 1, res.stderr
        assert lines[0].startswith("loopbackctl: ") and " at a time instead of 60: " in lines[0]
        assert "the open-files limit (ulimit -n) is 64" in lines[0]
        doc = json.loads(res.stdout)
        assert [h["name"] for h in doc["hosts"]] == names
        for i, h in enumerate(doc["hosts"], 1):
            assert h["status"] == "drift" and h["error"] is None, h
            assert [c["name"] for c in h["checks"] if not c["ok"]] == [f"lo {V4.format(i)}"]


def test_a_low_soft_limit_is_raised_to_the_hard_limit(linux_bed: Any, tmp_path: Path) -> None:
    probe = _limited(
        "-Sn 64",
        ["--version"],
    )
    assert probe.returncode == 0
    show = subprocess.run(
        ["/bin/sh", "-c", 'ulimit -Sn 64 && exec "$@"', "sh", sys.executable, "-c",
         "import resource; from loopbackctl.cli import limits; limits.raise_nofile();"
         " s, h = resource.getrlimit(resource.RLIMIT_NOFILE); print(s, h)"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    soft, hard = map(int, show.stdout.split())
    assert soft == hard > 64, show.stdout + show.stderr

    bed = linux_bed(HOSTS)
    names = [h.name for h in bed]
    f = fleet(bed, tmp_path, {n: [{"name": "lo", "addresses": [V4.format(i)]}]
                              for i, n in enumerate(names, 1)})  # fmt: skip
    res = _limited(
        "-Sn 64",
        ["-i", str(f.inventory), "verify", "--known-hosts", str(f.known_hosts),
         "--workers", "20", "--format", "json", "--connect-timeout", "60"],
    )  # fmt: skip
    # 20 workers need 16 + 20 * 8 descriptors: more than 64, fewer than the hard limit
    assert res.returncode == 1 and res.stderr == "", res.stderr  # not capped
    summary = json.loads(res.stdout)["summary"]
    assert summary["drift"] == HOSTS, res.stdout[-3000:]

#!/usr/bin/env python3
"""Benchmark the lab code (`loopbackctl.lab`, which also builds the test beds): up and
down time and memory per device, at several sizes.

    sudo python bench/bench_lab.py [--sizes 100 1000] [--routers 0] [--ios] [--full-shell]
                                   [--verify] [--workers 16]

Per size: the build's phases, up and down in seconds, memory per device (the drop of
MemAvailable while the lab runs, and the PSS of its sshd processes, or with --ios of the
IOS simulator serving them), and with --verify a `loopbackctl verify` over every host
(each host's lab loopbacks present), which proves the devices answer. With --ios the
devices are simulated IOS routers (the simulator must be installed) instead of Linux
hosts. Sizes above 253 use one bridge per /24 (a Linux bridge holds at most
1,024 ports). Needs root; packets stay inside the lab's namespaces.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchenv  # noqa: E402, F401  (the ping allow-list of every benchmark)

from loopbackctl.cli import main  # noqa: E402
from loopbackctl.lab import inventory, netns, prereq  # noqa: E402
from loopbackctl.lab.build import Lab, LabSpec  # noqa: E402
from loopbackctl.lab.errors import LabUnavailable  # noqa: E402


def meminfo(key: str) -> int:
    """A /proc/meminfo value in KiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(x.split()[1]) for x in text.splitlines() if x.startswith("Pss:")), 0)


def verify(lab: Lab, workers: int) -> tuple[float, int, str]:
    """`loopbackctl verify` over every host with all its lab loopbacks in place: the
    time, the exit code, and what failed (hosts by status, the first errors)."""
    with tempfile.TemporaryDirectory() as tmp:
        extras = {k.name: k.extras(lab) for k in lab.spec.kinds}
        kinds = ["linux", "cisco_ios"]
        hosts, groups = inventory.lab_documents(lab.nodes, lab.key_file, kinds, extras)
        inventory.write(Path(tmp) / "inv", hosts, groups)
        kh = Path(tmp) / "known_hosts"
        kh.write_text("\n".join(lab.known_hosts_lines()) + "\n")
        out, err = io.StringIO(), io.StringIO()
        t = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["-i", str(Path(tmp) / "inv"), "verify", "--known-hosts", str(kh),
                       "--workers", str(workers), "--format", "json"])  # fmt: skip
        took = time.monotonic() - t
    try:
        doc = json.loads(out.getvalue())
    except ValueError:
        return took, rc, err.getvalue().strip()[-300:]
    bad = [h for h in doc["hosts"] if h["status"] != "ok"]
    errors = "; ".join(f"{h['name']}: {h['status']} {h['error']}" for h in bad[:3])
    return took, rc, f"{doc['summary']} {errors}".strip()


def one(size: int, args: argparse.Namespace) -> None:
    avail0 = meminfo("MemAvailable")
    spec = LabSpec.numbered(
        0 if args.ios else size,
        args.routers,
        size if args.ios else 0,
        lean=not args.full_shell,
        seeded=lambda n: [n.loopback4, n.loopback6],
    )
    with Lab(spec) as lab:
        time.sleep(1.0)  # let the sshds settle before reading memory
        drop = avail0 - meminfo("MemAvailable")
        pids = [n.sshd_pid for n in lab if n.sshd_pid]
        pids += [lab.simulator.pid] if lab.ios_routers else []
        pss = sum(pss_kib(pid) for pid in pids)
        n = len(lab)
        phases = ", ".join(f"{k} {v:.2f}" for k, v in lab.timings.items() if k != "up")
        print(f"{n} devices ({len(lab.slots)} bridge(s)): up {lab.timings['up']:.2f} s")
        print(f"  phases: {phases}")
        what = "simulator" if args.ios else "sshd"
        print(f"  memory: MemAvailable -{drop / 1024:.0f} MiB ({drop / n / 1024:.2f} MiB/device),"
              f" {what} PSS {pss / 1024:.0f} MiB ({pss / n:.0f} KiB/device)")  # fmt: skip
        if args.verify:
            took, rc, what = verify(lab, args.workers)
            hosts = len(lab.hosts) + len(lab.ios_routers)
            print(f"  loopbackctl verify over {hosts} hosts: {took:.2f} s (exit {rc})")
            if rc:
                print(f"    {what}")
    steps = ", ".join(f"{k[5:]} {v:.2f}" for k, v in lab.timings.items() if k.startswith("down:"))
    print(f"  down {lab.timings['down']:.2f} s ({steps})")


def main_bench() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--routers", type=int, default=0)
    ap.add_argument("--ios", action="store_true", help="simulated IOS routers, not Linux hosts")
    ap.add_argument("--full-shell", action="store_true", help="hosts read root's dot files")
    ap.add_argument("--verify", action="store_true", help="also run verify over every host")
    ap.add_argument("--workers", type=int, default=16)
    args = ap.parse_args()
    kinds = (["frr"] if args.routers else []) + (["cisco_ios"] if args.ios else [])
    try:
        prereq.require("bench_lab", kinds=kinds)
    except LabUnavailable as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    netns.sigterm_to_keyboard_interrupt()
    for size in args.sizes:
        one(size, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())

#!/usr/bin/env python3
"""Benchmark: how `loopbackctl verify` grows with the fleet, against the raw paramiko floor
in the same run, on one lab of Linux hosts (loopbackctl.lab; past 253 hosts it spans
several bridges and /24s of 198.19.0.0/16).

    sudo python bench/bench_growth.py [--sizes 100 250 500 1000] [--workers 16]
                                      [--repeat 3] [--no-apply] [--no-first-run]

Per size N (the first N hosts of one lab of max(sizes) hosts, every host already as
intended): `loopbackctl verify` and the floor — raw paramiko connect, exec `ip -j addr
show dev lo; ip -j link show dev lo`, close, on a thread pool of the same size — each run
as its own process, alternately, --repeat times (medians). Each process is measured by
wait4(): wall time, CPU seconds (user + system) and peak RSS. "CPU/host" is the
process's CPU over N; "marginal" leaves out what a 1-host run costs (interpreter,
imports, inventory), which is what must stay flat as N grows. "(best)" is the fastest
verify over the fastest floor: on a machine shared with other work, the least disturbed.

At the largest size also: `apply` from drift (both lab loopbacks removed from every host,
untimed) and, unless --no-first-run, a first `verify` with an empty known_hosts
(accept-new records every host key as it goes).

Targets: verify <= 1.2x the floor at every size; marginal CPU/host flat (the largest size
within 25% of the smallest); peak RSS under 300 MB at 1,000 hosts. Needs root; packets
stay inside the lab's namespaces. Run it on a quiet machine: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopbackctl.fleet import DEFAULT_WORKERS  # noqa: E402
from loopbackctl.lab import inventory, netns, prereq  # noqa: E402
from loopbackctl.lab.build import Lab, LabSpec  # noqa: E402
from loopbackctl.lab.node import Node  # noqa: E402

READ = "ip -j addr show dev lo; ip -j link show dev lo"


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    out: str


def measured(argv: list[str]) -> Sample:
    """Run argv as a child; its wall time, CPU and peak RSS (wait4), and its stdout."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, cwd=ROOT)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[:6]} exited {proc.returncode}:\n{err.decode()[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text)


def floor_child(targets: Path, key: str, workers: int) -> int:
    """--floor: the raw paramiko job over the addresses in `targets` (one per line)."""
    import paramiko

    def one(ip: str) -> str:
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        c.connect(ip, username="root", key_filename=key, look_for_keys=False,
                  allow_agent=False, timeout=30)  # fmt: skip
        try:
            _, out, _ = c.exec_command(READ)
            return str(out.read().decode())
        finally:
            c.close()

    ips = targets.read_text().split()
    with ThreadPoolExecutor(workers) as pool:
        outs = list(pool.map(one, ips))
    bad = sum('"ifname":"lo"' not in o for o in outs)
    print(json.dumps({"hosts": len(outs), "bad": bad}))
    return 1 if bad else 0


def write_run(lab: Lab, nodes: list[Node], where: Path, known: str) -> tuple[Path, Path, Path]:
    """Inventory, known_hosts (plain lines, or empty) and floor targets for `nodes`."""
    where.mkdir(parents=True)
    hosts, groups = inventory.lab_documents(nodes, lab.key_file, ["linux"])
    inventory.write(where / "inventory", hosts, groups)
    kh = where / "known_hosts"
    kh.write_text("" if known == "empty" else "\n".join(lab.known_hosts_lines()) + "\n")
    targets = where / "targets"
    targets.write_text("\n".join(n.ip4 for n in nodes) + "\n")
    return where / "inventory", kh, targets


def loopbackctl(inv: Path, kh: Path, command: str, workers: int) -> list[str]:
    return [sys.executable, "-m", "loopbackctl", "-i", str(inv), command, "--known-hosts",
            str(kh), "--workers", str(workers), "--format", "json"]  # fmt: skip


def statuses(sample: Sample) -> dict[str, int]:
    summary = json.loads(sample.out)["summary"]
    return {k: v for k, v in summary.items() if v and k != "total"}


def drift(lab: Lab, nodes: list[Node]) -> None:
    """Remove both lab loopbacks from every host (untimed)."""
    for n in nodes:
        for a in (n.loopback4, n.loopback6):
            netns.run([netns.IP, "-n", n.netns, "addr", "del", str(a), "dev", "lo"], check=True)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main_bench() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 250, 500, 1000])
    ap.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-apply", action="store_true")
    ap.add_argument("--no-first-run", action="store_true")
    ap.add_argument("--floor", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--key", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor:
        return floor_child(args.floor, args.key, args.workers)
    problems = prereq.missing([])
    if problems:
        print("cannot run: " + "; ".join(str(p) for p in problems), file=sys.stderr)
        return 2
    netns.sigterm_to_keyboard_interrupt()
    w, biggest = args.workers, max(args.sizes)
    print(f"load average at start: {load()}; {os.cpu_count()} CPUs; {w} workers")
    spec = LabSpec.numbered(biggest, 0, lean=True, seeded=lambda n: [n.loopback4, n.loopback6])
    with tempfile.TemporaryDirectory() as tmp, Lab(spec) as lab:
        print(f"lab: {len(lab)} hosts on {len(lab.slots)} bridge(s), up in"
              f" {lab.timings['up']:.1f} s")  # fmt: skip
        hosts = lab.hosts
        one_inv, one_kh, _ = write_run(lab, hosts[:1], Path(tmp) / "one", "plain")
        base = statistics.median(
            measured(loopbackctl(one_inv, one_kh, "verify", w)).cpu for _ in range(3)
        )
        rows = []
        for n in sorted(args.sizes):
            inv, kh, targets = write_run(lab, hosts[:n], Path(tmp) / f"n{n}", "plain")
            floor_argv = [sys.executable, __file__, "--floor", str(targets), "--key",
                          str(lab.key_file), "--workers", str(w)]  # fmt: skip
            floors, verifies = [], []
            for _ in range(args.repeat):
                floors.append(measured(floor_argv))
                verifies.append(measured(loopbackctl(inv, kh, "verify", w)))
                assert statuses(verifies[-1]) == {"ok": n}, verifies[-1].out[-2000:]
            f = statistics.median(s.wall for s in floors)
            v = statistics.median(s.wall for s in verifies)
            cpu = statistics.median(s.cpu for s in verifies)
            rss = max(s.rss_mb for s in verifies)
            fcpu = statistics.median(s.cpu for s in floors)
            best = min(s.wall for s in verifies) / min(s.wall for s in floors)
            rows.append((n, v, f, cpu, (cpu - base) / max(1, n - 1), rss, fcpu, best))
            print(f"  {n} hosts done (load {load()})", file=sys.stderr)

        extra = []
        nodes = hosts[:biggest]
        if not args.no_first_run:
            inv, kh, _ = write_run(lab, nodes, Path(tmp) / "first", "empty")
            s = measured(loopbackctl(inv, kh, "verify", w))
            assert statuses(s) == {"ok": biggest}, s.out[-2000:]
            extra.append(("verify, empty known_hosts (accept-new)", s))
        if not args.no_apply:
            inv, kh, _ = write_run(lab, nodes, Path(tmp) / "apply", "plain")
            drift(lab, nodes)
            s = measured(loopbackctl(inv, kh, "apply", w))
            assert statuses(s) == {"changed": biggest}, s.out[-2000:]
            extra.append(("apply from drift (2 addresses per host)", s))

    print(f"\nverify of N hosts, {w} workers, median of {args.repeat}; floor = raw paramiko"
          f" connect + exec + close, same workers")  # fmt: skip
    print(f"{'hosts':>6} {'verify s':>9} {'floor s':>8} {'x floor':>8} {'(best)':>7}"
          f" {'CPU/host ms':>12} {'marginal ms':>12} {'peak RSS MB':>12}"
          f" {'floor CPU/host ms':>18}")  # fmt: skip
    for n, v, f, cpu, marginal, rss, fcpu, best in rows:
        print(f"{n:>6} {v:>9.2f} {f:>8.2f} {v / f:>8.2f} {best:>7.2f} {cpu / n * 1000:>12.2f}"
              f" {marginal * 1000:>12.2f} {rss:>12.1f} {fcpu / n * 1000:>18.2f}")  # fmt: skip
    print(f"(a 1-host verify costs {base:.2f} s of CPU: interpreter, imports, inventory)")
    for name, s in extra:
        print(f"{biggest} hosts, {name}: {s.wall:.2f} s, CPU {s.cpu / biggest * 1000:.2f}"
              f" ms/host, peak RSS {s.rss_mb:.1f} MB")  # fmt: skip
    verdict = {True: "met", False: "MISSED"}
    worst = max(v / f for _, v, f, *_ in rows)
    margins = [r[4] for r in rows]
    flat = margins[-1] <= 1.25 * margins[0]
    rss_big = rows[-1][5]
    print(f"\nverify / floor, worst size: {worst:.2f} (target <= 1.20: {verdict[worst <= 1.2]})")
    print(f"marginal CPU/host, largest vs smallest size: {margins[-1] / margins[0]:.2f}"
          f" (target <= 1.25: {verdict[flat]})")  # fmt: skip
    print(f"peak RSS at {rows[-1][0]} hosts: {rss_big:.1f} MB (target < 300:"
          f" {verdict[rss_big < 300]})")  # fmt: skip
    print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())

#!/usr/bin/env python3
"""Benchmark: loopbackctl on 100 namespace hosts against three other ways of doing the same
read-only job ("connect, read lo with `ip -j`, disconnect"), in the same run.

    sudo python bench/bench_linux_fleet.py [--hosts 100] [--workers N] [--repeat 3]
                                           [--sweep] [--full-shell] [--processes P]
                                           [--apply-only]

Rows: loopbackctl verify; loopbackctl apply from a drifted state (2 addresses missing on
every host), with confirm-or-revert (the default: a revert job armed on each host before
its change and cancelled after) and with --no-confirm; raw paramiko connect + exec at the
same worker count (the floor); a plain serial netmiko loop; Nornir + nornir_netmiko at 20
workers. Times are medians of --repeat runs. Targets: verify <= 1.3x the floor, Nornir
>= 1.5x verify.
--sweep also times verify at several worker counts (how DEFAULT_WORKERS was chosen).
--processes P also times verify with --processes P (same workers in all).
--apply-only times only the two apply rows (confirm-or-revert's cost), alternating.
Needs root (network namespaces, sshd); packets stay inside the bed's namespaces.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchenv  # noqa: E402, F401  (the ping allow-list of every benchmark)

from loopbackctl import fleet  # noqa: E402
from loopbackctl.cli import main  # noqa: E402
from tests.bed.netns import IP, LinuxBed, check_prerequisites  # noqa: E402

READ = "ip -j addr show dev lo; ip -j link show dev lo"


def addresses(i: int) -> list[str]:
    return [f"198.18.{100 + i // 250}.{i % 250 + 1}/32", f"2001:db8:100::{i:x}/128"]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def loopbackctl(
    inv: Path, kh: Path, command: str, workers: int, processes: int = 1, *extra: str
) -> Callable[[], None]:
    def run() -> None:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["-i", str(inv), command, "--known-hosts", str(kh),
                       "--workers", str(workers), "--processes", str(processes),
                       *extra])  # fmt: skip
        if rc not in (0, 1):
            raise SystemExit(f"loopbackctl {command} exited {rc}:\n{err.getvalue()}")

    return run


def raw_paramiko(bed: LinuxBed, workers: int) -> Callable[[], None]:
    import paramiko

    def one(ip: str) -> str:
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        c.connect(ip, username="root", key_filename=str(bed.key_file), look_for_keys=False,
                  allow_agent=False, timeout=10)  # fmt: skip
        try:
            _, out, _ = c.exec_command(READ)
            return str(out.read().decode())
        finally:
            c.close()

    def run() -> None:
        with ThreadPoolExecutor(workers) as pool:
            outs = list(pool.map(one, [h.ip4 for h in bed]))
        assert all('"ifname":"lo"' in o for o in outs)

    return run


def serial_netmiko(bed: LinuxBed) -> Callable[[], None]:
    from netmiko import ConnectHandler

    def run() -> None:
        for h in bed:
            conn = ConnectHandler(**h.netmiko_params())
            try:
                out = conn.send_command(READ)
                assert '"ifname":"lo"' in out
            finally:
                conn.disconnect()

    return run


def nornir(inv: Path, workers: int) -> Callable[[], None]:
    from nornir import InitNornir
    from nornir_netmiko.tasks import netmiko_send_command

    def run() -> None:
        nr = InitNornir(
            runner={"plugin": "threaded", "options": {"num_workers": workers}},
            inventory={
                "plugin": "SimpleInventory",
                "options": {
                    "host_file": str(inv / "hosts.yaml"),
                    "group_file": str(inv / "groups.yaml"),
                },
            },
            logging={"enabled": False},
        )
        result = nr.run(task=netmiko_send_command, command_string=READ)
        assert not result.failed, result.failed_hosts
        nr.close_connections()

    return run


def drift(bed: LinuxBed) -> None:
    """Take every host's inventory addresses away again (untimed)."""
    for i, h in enumerate(bed, start=1):
        for a in addresses(i):
            bed.exec(h, [IP, "addr", "del", a, "dev", "lo"])


def main_bench() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--workers", type=int, default=fleet.DEFAULT_WORKERS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sweep", action="store_true", help="also time verify at other workers")
    ap.add_argument("--full-shell", action="store_true", help="hosts read root's dot files")
    ap.add_argument("--processes", type=int, default=1, help="also time verify in P processes")
    ap.add_argument(
        "--apply-only", action="store_true", help="only apply, with and without confirm-or-revert"
    )
    args = ap.parse_args()
    problems = check_prerequisites()
    if problems:
        print("cannot run: " + "; ".join(problems), file=sys.stderr)
        return 2
    w = args.workers
    with TemporaryDirectory() as tmp, LinuxBed(args.hosts, lean=not args.full_shell) as bed:
        inv = bed.write_inventory(
            Path(tmp) / "inventory",
            loopbacks={
                h.name: [{"name": "lo", "addresses": addresses(i)}]
                for i, h in enumerate(bed, start=1)
            },
        )
        kh = Path(tmp) / "known_hosts"
        kh.write_text("\n".join(bed.known_hosts_lines()) + "\n")
        print(f"bed: {len(bed)} hosts up in {bed.timings['up']:.2f}s"
              f" ({'full' if args.full_shell else 'lean'} shells)")  # fmt: skip

        rows: dict[str, list[float]] = {}
        jobs: list[tuple[str, Callable[[], None], Callable[[], None] | None]] = [
            (f"raw paramiko exec, {w} workers (floor)", raw_paramiko(bed, w), None),
            (f"loopbackctl verify, {w} workers", loopbackctl(inv, kh, "verify", w), None),
            (f"loopbackctl apply (drifted), {w} workers",
             loopbackctl(inv, kh, "apply", w), lambda: drift(bed)),
            ("nornir + nornir_netmiko, 20 workers", nornir(inv, 20), None),
            (f"loopbackctl apply (drifted), {w} workers, --no-confirm",
             loopbackctl(inv, kh, "apply", w, 1, "--no-confirm"), lambda: drift(bed)),
        ]  # fmt: skip
        if args.apply_only:
            jobs = [jobs[2], jobs[4]]
        if args.processes > 1:
            jobs.append((f"loopbackctl verify, {w} workers, {args.processes} processes",
                         loopbackctl(inv, kh, "verify", w, args.processes), None))  # fmt: skip
        if args.sweep:
            for n in (5, 10, 16, 20, 30, 50):
                if n != w:
                    jobs.append((f"loopbackctl verify, {n} workers",
                                 loopbackctl(inv, kh, "verify", n), None))  # fmt: skip
        for rep in range(args.repeat):
            for name, fn, before in jobs:
                if before is not None:
                    before()
                rows.setdefault(name, []).append(timed(fn))
            print(f"  round {rep + 1}/{args.repeat} done", file=sys.stderr)
        if args.apply_only:
            for name, ts in rows.items():
                print(f"{name}: median {statistics.median(ts):.2f}s, min {min(ts):.2f}s, all"
                      f" {', '.join(f'{t:.2f}' for t in ts)}")  # fmt: skip
            return 0
        serial = "plain serial netmiko loop, 1 worker"
        rows[serial] = [timed(serial_netmiko(bed))]

        floor = statistics.median(rows[jobs[0][0]])
        verify = statistics.median(rows[jobs[1][0]])
        nr = statistics.median(rows[jobs[3][0]])
        width = max(len(n) for n in rows)
        print(f"\n{'job (' + str(len(bed)) + ' hosts)':<{width}}  {'median s':>9}  "
              f"{'min s':>7}  {'x floor':>7}  {'x verify':>8}")  # fmt: skip
        for name, ts in rows.items():
            med = statistics.median(ts)
            print(f"{name:<{width}}  {med:9.2f}  {min(ts):7.2f}  {med / floor:7.2f}"
                  f"  {med / verify:8.2f}")  # fmt: skip
        verdict = {True: "met", False: "MISSED"}
        met1, met2 = verdict[verify <= 1.3 * floor], verdict[nr >= 1.5 * verify]
        print(f"\nverify / floor = {verify / floor:.2f} (target <= 1.30: {met1})")
        print(f"nornir / verify = {nr / verify:.2f} (target >= 1.50: {met2})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())

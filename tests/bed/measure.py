"""Measure the bed: ``python -m tests.bed.measure [N] [--netmiko] [--full-shell]`` (root).

Prints up/down time, memory (MemAvailable drop and the sshd processes' PSS) and,
with --netmiko, a "connect, ip -j addr show dev lo, disconnect" run over all hosts.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bed.netns import BedHost, LinuxBed, sigterm_to_keyboard_interrupt


def _meminfo(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _fleet(bed: LinuxBed, workers: int) -> float:
    from netmiko import ConnectHandler

    def one(h: BedHost) -> str:
        conn = ConnectHandler(**h.netmiko_params())
        try:
            return str(conn.send_command("ip -j addr show dev lo"))
        finally:
            conn.disconnect()

    t = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        outs = list(pool.map(one, bed.hosts))
    took = time.monotonic() - t
    assert all('"ifname":"lo"' in out for out in outs)
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=100)
    ap.add_argument("--netmiko", action="store_true")
    ap.add_argument("--workers", type=int, default=10)
    ap.add_argument("--full-shell", action="store_true")
    args = ap.parse_args()
    sigterm_to_keyboard_interrupt()
    avail0 = _meminfo("MemAvailable")
    t0 = time.monotonic()
    with LinuxBed(args.n, lean=not args.full_shell) as bed:
        up = time.monotonic() - t0
        time.sleep(0.5)
        drop = avail0 - _meminfo("MemAvailable")
        pss = sum(_pss_kib(h.sshd_pid) for h in bed if h.sshd_pid)
        print(f"{args.n} hosts up in {up:.2f}s; phases {bed.timings}")
        print(
            f"memory: MemAvailable -{drop / 1024:.1f} MiB ({drop / args.n / 1024:.2f} MiB/host), "
            f"sshd PSS {pss / 1024:.1f} MiB ({pss / args.n:.0f} KiB/host)"
        )
        if args.netmiko:
            took = _fleet(bed, args.workers)
            print(f"netmiko connect+ip -j addr show dev lo+disconnect x{args.n} "
                  f"({args.workers} workers): {took:.2f}s")  # fmt: skip
    print(f"down in {bed.timings['down']:.2f}s")


if __name__ == "__main__":
    main()

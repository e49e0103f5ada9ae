"""Benchmark: validate and render a generated 10,000-host inventory.

Run by hand: `python3 bench/bench_inventory.py [--hosts N] [--keep DIR]`. Generates a fleet
(IOS routers and Linux servers, nested groups, defaults, two loopbacks per router) into a
temporary directory, then times `validate` and `render` in-process and as a subprocess
(`python3 -m loopbackctl ...`), printing wall time, the child's peak memory (ru_maxrss)
and the ratio to the 2 s target. Exit 1 when a subprocess run misses the target.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchenv  # noqa: E402, F401  (the ping allow-list of every benchmark)

TARGET_S = 2.0
SITES = 50


def generate(directory: Path, n_hosts: int) -> None:
    """A valid fleet: 40% IOS routers (2 loopbacks, IPv4 + IPv6), 60% Linux servers."""
    groups = [
        "global:\n  data:\n    owner: noc\n",
        "routers:\n  groups: [global]\n  platform: cisco_ios\n  username: netops\n"
        "  connection_options:\n    netmiko:\n      extras: {fast_cli: false}\n",
        "servers:\n  groups: [global]\n  platform: linux\n  username: root\n",
    ]
    groups += [f"site{s}:\n  data:\n    site: site{s}\n" for s in range(SITES)]
    (directory / "groups.yaml").write_text("\n".join(groups), encoding="utf-8")
    (directory / "defaults.yaml").write_text(
        "port: 22\ndata:\n  connect_timeout: 10\n  command_timeout: 20\n", encoding="utf-8"
    )
    out: list[str] = []
    for i in range(n_hosts):
        a, b, c = i // 65536, i // 256 % 256, i % 256
        site = f"site{i % SITES}"
        if i % 5 < 2:
            out.append(
                f"r{i}:\n"
                f"  hostname: 198.18.{b}.{c}\n"
                f"  groups: [routers, {site}]\n"
                "  data:\n"
                "    loopbacks:\n"
                "      - name: Loopback0\n"
                "        description: router-id\n"
                f'        addresses: [10.{a}.{b}.{c}/32, "2001:db8:{a}:{b}::{c:x}/128"]\n'
                "      - name: Loopback1\n"
                "        description: iBGP peering\n"
                f"        addresses: [10.{100 + a}.{b}.{c}/32]\n"
            )
        else:
            out.append(
                f"web{i}:\n"
                f"  hostname: 198.19.{b}.{c}\n"
                f"  groups: [servers, {site}]\n"
                "  data:\n"
                "    loopbacks:\n"
                "      - name: lo\n"
                f'        addresses: [172.{16 + a}.{b}.{c}/32, "2001:db8:1{a}:{b}::{c:x}/128"]\n'
            )
    (directory / "hosts.yaml").write_text("\n".join(out), encoding="utf-8")


Result = tuple[float, float, int, int | None]  # wall s, CPU s, exit code, peak RSS KiB


def in_process(argv: list[str]) -> Result:
    from loopbackctl.cli import main

    out, err = io.StringIO(), io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return time.perf_counter() - start, time.process_time() - cpu, rc, None


def child(argv: list[str]) -> Result:
    """Wall and CPU time, exit code and peak RSS (KiB) of `python3 -m loopbackctl ARGV`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopbackctl", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode, usage.ru_maxrss


def report(name: str, result: Result) -> None:
    wall, cpu, rc, rss_kib = result
    mem = f"  peak {rss_kib / 1024:6.1f} MiB" if rss_kib is not None else " " * 18
    print(
        f"  {name:<24} wall {wall:5.2f} s  cpu {cpu:5.2f} s{mem}  exit {rc}"
        f"  wall/target {wall / TARGET_S:4.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--keep", help="write the inventory here instead of a temp dir")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.keep or tmp)
        directory.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate(directory, args.hosts)
        size = sum(p.stat().st_size for p in directory.glob("*.yaml"))
        print(
            f"inventory: {args.hosts} hosts, {SITES + 3} groups, {size / 2**20:.1f} MiB of YAML"
            f" (generated in {time.perf_counter() - start:.2f} s) in {directory}"
        )
        runs: list[tuple[str, Callable[[list[str]], Result], list[str]]] = []
        for cmd in ("validate", "render"):
            argv = [cmd, "-i", str(directory)]
            runs.append((f"{cmd} (in-process)", in_process, argv))
            runs.append((f"{cmd} (subprocess)", child, argv))
        print(
            f"best of {args.repeat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        failed = False
        for name, run, argv in runs:
            best = min((run(argv) for _ in range(args.repeat)), key=lambda r: r[0])
            report(name, best)
            if best[2] != 0 or ("subprocess" in name and best[0] > TARGET_S):
                failed = True
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

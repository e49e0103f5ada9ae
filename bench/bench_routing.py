#!/usr/bin/env python3
"""Benchmark: `loopbackctl verify --routing` on a fabric of FRR routers against the same
checks scripted by hand (serial ssh + vtysh per router and per pair), in the same run.

    sudo python bench/bench_routing.py [--routers 8] [--repeat 3] [--full-shell]

The fabric is a lab ring of --routers FRR routers (OSPFv2 + OSPFv3, each lo carrying its
lab loopbacks). Both ways check the same things: each router's OSPF and OSPFv3
router-id, and from every router to each other router's two loopback addresses a route
and an echo sourced from its own loopback. The hand script does what a person would
write: one `ssh ROUTER vtysh ...` per router for the router-ids, and one `ssh SRC
'vtysh -c "show ip route A json"; ping -I OWN A'` per pair and address, one after
another. Times are medians of --repeat runs; both must find every check passing.
Needs root (network namespaces, sshd, FRR); every packet stays inside the lab.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchenv  # noqa: E402, F401  (the ping allow-list of every benchmark)

from loopbackctl.cli import main  # noqa: E402
from loopbackctl.lab import inventory, netns, prereq  # noqa: E402
from loopbackctl.lab.build import Lab, LabSpec  # noqa: E402
from loopbackctl.lab.node import Node  # noqa: E402
from loopbackctl.platforms.frr.parse import ospf_router_ids, routes, split_json  # noqa: E402


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    t0 = time.perf_counter()
    checks = fn()
    return time.perf_counter() - t0, checks


def write_inventory(lab: Lab, path: Path) -> Path:
    hosts, groups = inventory.lab_documents(lab.nodes, lab.key_file, ["frr"])
    inventory.write(path / "inv", hosts, groups)
    kh = path / "known_hosts"
    kh.write_text("\n".join(lab.known_hosts_lines()) + "\n")
    return kh


def loopbackctl(path: Path, kh: Path) -> Callable[[], int]:
    def run() -> int:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["-i", str(path / "inv"), "verify", "--routing", "--known-hosts",
                       str(kh), "--format", "json"])  # fmt: skip
        doc = json.loads(out.getvalue())
        if rc != 0:
            bad = [c for h in doc["hosts"] for c in h["checks"] if not c["ok"]]
            raise SystemExit(
                f"loopbackctl verify --routing exited {rc}: {bad[:3]} {err.getvalue()}"
            )
        wanted = ("router-id ", "mesh ")
        return sum(1 for h in doc["hosts"] for c in h["checks"] if c["name"].startswith(wanted))

    return run


def ssh(lab: Lab, node: Node, command: str) -> str:
    argv = ["ssh", "-i", str(lab.key_file), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=no",
            "-o", "LogLevel=ERROR", f"root@{node.ip4}", command]  # fmt: skip
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return res.stdout + f"\nRC={res.returncode}"


def by_hand(lab: Lab) -> Callable[[], int]:
    """The same checks, one ssh session at a time."""
    routers = lab.routers

    def run() -> int:
        checks = 0
        for r in routers:
            out = ssh(lab, r, "vtysh -c 'show ip ospf json'; vtysh -c 'show ipv6 ospf6 json'")
            docs, _ = split_json(out, "router-ids")
            for proto, doc in zip(("ospf", "ospf6"), docs, strict=True):
                rid = ospf_router_ids(doc, proto).get("default")
                assert rid == r.loopback4.ip, (r.name, proto, rid)
                checks += 1
        for src in routers:
            for dst in routers:
                if dst is src:
                    continue
                for addr, own in ((dst.loopback4, src.loopback4), (dst.loopback6, src.loopback6)):
                    family = "ip" if addr.version == 4 else "ipv6"
                    ping = f"ping -n -q -c 1 -W 1 -I {own.ip} {addr.ip} >/dev/null"
                    out = ssh(lab, src, f"vtysh -c 'show {family} route {addr} json'; {ping}")
                    (route,) = routes(out[: out.rindex("RC=")], [ipaddress.ip_interface(addr)])
                    assert route is not None and route.installed, (src.name, addr)
                    assert out.rstrip().endswith("RC=0"), (src.name, addr, out)
                    checks += 1
        return checks

    return run


def wait_routes(lab: Lab, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for src in lab.routers:
        for dst in lab.routers:
            for addr in (dst.loopback4, dst.loopback6) if dst is not src else ():
                family = "ip" if addr.version == 4 else "ipv6"
                while (
                    '"installed":true'
                    not in lab.vtysh(src, f"show {family} route {addr} json").stdout
                ):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{src.name} has no route to {addr}")
                    time.sleep(0.2)


def main_bench() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--routers", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--full-shell", action="store_true", help="routers read root's dot files")
    args = ap.parse_args()
    problems = prereq.missing(["frr"])
    if problems:
        print("cannot run: " + "; ".join(str(p) for p in problems), file=sys.stderr)
        return 2
    netns.sigterm_to_keyboard_interrupt()
    spec = LabSpec.numbered(0, args.routers, lean=not args.full_shell,
                            seeded=lambda n: [n.loopback4, n.loopback6])  # fmt: skip
    with Lab(spec) as lab, TemporaryDirectory() as tmp:
        wait_routes(lab)
        kh = write_inventory(lab, Path(tmp))
        rows = [
            ("loopbackctl verify --routing", loopbackctl(Path(tmp), kh)),
            ("by hand: serial ssh + vtysh per router and per pair", by_hand(lab)),
        ]
        results: list[tuple[str, float, int]] = []
        for name, fn in rows:
            fn()  # warm: imports, ARP-free (neighbours are pinned), caches
            runs = [timed(fn) for _ in range(args.repeat)]
            results.append((name, statistics.median(t for t, _ in runs), runs[0][1]))
    n = args.routers
    print(f"{n} FRR routers in a ring, {n * (n - 1) * 2} router/address pairs, median of"
          f" {args.repeat}")  # fmt: skip
    print(f"{'way':<55} {'seconds':>8} {'checks':>7} {'ratio':>6}")
    base = results[0][1]
    for name, took, checks in results:
        print(f"{name:<55} {took:>8.2f} {checks:>7} {took / base:>5.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())

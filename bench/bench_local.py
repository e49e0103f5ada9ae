#!/usr/bin/env python3
"""Benchmark: `loopbackctl verify --local` against checking lo by hand, in the same run.

The hand workflow is what a person types to convince themselves lo works:

    ip addr show lo
    ping -c 3 127.0.0.1
    python3 -m http.server --bind 127.0.0.1 PORT &   # wait until it listens
    curl http://127.0.0.1:PORT/                      # then stop the server

A second hand row uses `ping -c 3 -i 0.002` (needs root: shorter than 0.2 s), so the
comparison does not rest on ping's one-second gaps alone. Runs are interleaved so load
spikes hit every row alike. Wall time is measured around whole processes, Python
start-up included. Everything goes to 127.0.0.1 only.

    python3 bench/bench_local.py [-n 15]

Target: loopbackctl's median under 0.3 s on the project's 2-core test machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import benchenv  # noqa: F401  (the ping allow-list of every benchmark)

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.3
BODY = b"loopbackctl bench\n"


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def loopbackctl() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loopbackctl", "verify", "--local"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"verify --local failed here; fix lo first:\n{done.stdout.decode()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.005)
    raise SystemExit(f"http.server did not listen on 127.0.0.1:{port} within 10 s")


def by_hand(ping_args: list[str], docroot: str) -> Callable[[], None]:
    def run() -> None:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(["ip", "addr", "show", "lo"], check=True, **quiet)  # type: ignore[call-overload]
        subprocess.run(["ping", "-c", "3", *ping_args, "127.0.0.1"], check=True, **quiet)  # type: ignore[call-overload]
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
            cwd=docroot,
            **quiet,  # type: ignore[call-overload]
        )
        try:
            _wait_listening(port, time.monotonic() + 10)
            got = subprocess.run(
                ["curl", "-sf", f"http://127.0.0.1:{port}/index.html"],
                check=True,
                capture_output=True,
            ).stdout
            if got != BODY:
                raise SystemExit(f"curl fetched {got!r}, expected {BODY!r}")
        finally:
            server.terminate()  # only the server this run started, by its PID
            server.wait(10)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    args = parser.parse_args(argv)
    missing = [t for t in ("ip", "ping", "curl") if shutil.which(t) is None]
    if missing:
        print(
            f"bench_local: missing {', '.join(missing)} (apt-get install iproute2"
            " iputils-ping curl)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="lblbench") as docroot:
        Path(docroot, "index.html").write_bytes(BODY)
        rows: list[tuple[str, Callable[[], None]]] = [
            ("loopbackctl verify --local", loopbackctl),
            ("by hand: ip, ping -c 3, http.server + curl", by_hand([], docroot)),
        ]
        if os.geteuid() == 0:
            rows.append(("by hand, ping -i 0.002 (root)", by_hand(["-i", "0.002"], docroot)))
        loopbackctl()  # warm the page cache and byte-code once, as a person's second run
        times: dict[str, list[float]] = {name: [] for name, _ in rows}
        for _ in range(args.runs):
            for name, fn in rows:
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)

    ours = statistics.median(times[rows[0][0]])
    width = max(len(name) for name, _ in rows)
    print(f"{args.runs} runs each, interleaved; wall time per run, seconds")
    print(f"{'workflow'.ljust(width)}  median     min     max   ratio")
    for name, _ in rows:
        t = times[name]
        med = statistics.median(t)
        print(f"{name.ljust(width)}  {med:6.3f}  {min(t):6.3f}  {max(t):6.3f}  {med / ours:5.1f}x")
    verdict = "met" if ours < TARGET else "MISSED"
    print(f"target: loopbackctl median under {TARGET} s: {verdict} ({ours:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

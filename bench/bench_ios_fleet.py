"""Benchmark: `loopbackctl verify` and `apply` over simulated IOS routers, against a plain
serial netmiko loop and two Nornir fleets doing the same reads, in the same run.

    python bench/bench_ios_fleet.py [--routers 50] [--workers N] [--repeat 1]
    python bench/bench_ios_fleet.py --scaling [--routers 150] [--repeat 3]

Each router (tests/iossim: a lab's simulated IOS routers, each on its own address in its
own network namespace, all served by one simulator process; needs root) boots with a Loopback0
that differs from the inventory (description, a missing secondary, a missing IPv6
address), so `apply` changes every router. Per router, every side does the same: log in,
`enable`, read `show ip interface`, `show interfaces`, `show ipv6 interface brief` (the
three parsed with TextFSM, ntc-templates 9) and `show running-config | section ^interface
Loopback`; apply then pushes the same four lines, reads everything again and runs `write
memory`. The serial loop is stock netmiko, one router after the other; the Nornir rows
run the same reads at 20 workers with nornir_netmiko and with nornir_scrapli (paramiko
transport). The routers are reset to their boot state before every apply. The 10.x
addresses are data sent to the simulator only; every packet goes to the routers'
management addresses in the lab's namespaces (198.19.0.0/16).

--scaling times `verify` at 16, 32 and 64 workers in 1, 2 and (if more) cpu_count
processes, and reports the controller's CPU per router (this process and its
--processes children: SSH crypto, TextFSM) and how many cores it kept busy, beside the
simulator's: whether one process (one GIL) keeps up with the routers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchenv  # noqa: E402, F401  (the ping allow-list of every benchmark)

from loopbackctl.cli import main  # noqa: E402
from tests.iossim import DeviceSpec, IosSimBed  # noqa: E402
from tests.threads import alone  # noqa: E402

PASSWORD, SECRET = "admin", "enable"
SHOWS = ("show ip interface", "show interfaces", "show ipv6 interface brief")
SECTION = "show running-config | section ^interface Loopback"
NORNIR_WORKERS = 20


def startup(i: int) -> list[str]:
    return [
        "interface Loopback0",
        " description old",
        f" ip address 10.255.{i // 250}.{i % 250 + 1} 255.255.255.255",
        f" ipv6 address 2001:db8:ff::{i:x}/128",
    ]


def wanted(i: int) -> dict[str, Any]:
    return {
        "name": "Loopback0",
        "description": "router-id",
        "addresses": [
            f"10.255.{i // 250}.{i % 250 + 1}/32",
            f"10.254.{i // 250}.{i % 250 + 1}/32",
            f"2001:db8:ff::{i:x}/128",
            f"2001:db8:fe::{i:x}/128",
        ],
    }


def push_lines(i: int) -> list[str]:
    return [
        "interface Loopback0",
        " description router-id",
        f" ip address 10.254.{i // 250}.{i % 250 + 1} 255.255.255.255 secondary",
        f" ipv6 address 2001:db8:fe::{i:x}/128",
    ]


def write_inventory(bed: IosSimBed, n: int, where: Path) -> Path:
    hosts = {}
    for i in range(n):
        dev = bed[f"r{i + 1}"]
        hosts[dev.name] = {
            "hostname": dev.host,
            "port": dev.port,
            "platform": "cisco_ios",
            "username": dev.username,
            "data": {"loopbacks": [wanted(i)]},
        }
    inv = where / "inventory"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return inv


def loopbackctl(inv: Path, known_hosts: Path, *argv: str) -> tuple[float, int, str]:
    # A run forks its processes only in a process without other threads: the transport
    # threads of the sessions just closed (netmiko's, Nornir's) end first.
    alone()
    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["-i", str(inv), argv[0], "--known-hosts", str(known_hosts), *argv[1:]])
    return time.perf_counter() - t0, rc, out.getvalue()


def serial_netmiko(bed: IosSimBed, n: int, apply: bool) -> float:
    """The baseline: one router after the other with stock netmiko."""
    from netmiko import ConnectHandler

    t0 = time.perf_counter()
    for i in range(n):
        dev = bed[f"r{i + 1}"]
        conn = ConnectHandler(**dev.netmiko_params())
        conn.enable()

        def read(conn: Any = conn) -> None:
            for command in SHOWS:
                parsed = conn.send_command(command, use_textfsm=True, raise_parsing_error=True)
                assert isinstance(parsed, list) and parsed, command
            conn.send_command(SECTION)

        read()
        if apply:
            conn.send_config_set(push_lines(i))
            read()
            conn.save_config()
        conn.disconnect()
    return time.perf_counter() - t0


def nornir_inventory(bed: IosSimBed, n: int, where: Path) -> Path:
    """A Nornir SimpleInventory of the bed, with netmiko and scrapli connection options."""
    hosts = {}
    for i in range(n):
        dev = bed[f"r{i + 1}"]
        hosts[dev.name] = {
            "hostname": dev.host,
            "port": dev.port,
            "username": dev.username,
            "password": PASSWORD,
            "connection_options": {
                "netmiko": {"platform": "cisco_ios", "extras": {"secret": SECRET}},
                "scrapli": {
                    "platform": "cisco_iosxe",
                    "extras": {
                        "auth_strict_key": False,
                        "transport": "paramiko",
                        "auth_secondary": SECRET,
                        "ssh_config_file": False,
                    },
                },
            },
        }
    inv = where / "nornir"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return inv


def nornir_verify(inv: Path, plugin: str) -> float:
    """The same reads through Nornir at NORNIR_WORKERS threads, parsed with TextFSM."""
    from nornir import InitNornir

    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": NORNIR_WORKERS}},
        inventory={"plugin": "SimpleInventory", "options": {"host_file": str(inv / "hosts.yaml")}},
        logging={"enabled": False},
    )
    if plugin == "netmiko":
        from nornir_netmiko.tasks import netmiko_send_command

        def read(task: Any) -> None:
            task.host.open_connection("netmiko", nr.config)
            task.host.connections["netmiko"].connection.enable()
            for command in SHOWS:
                r = task.run(netmiko_send_command, command_string=command, use_textfsm=True)
                assert isinstance(r.result, list) and r.result, command
            task.run(netmiko_send_command, command_string=SECTION)

    else:
        from nornir_scrapli.tasks import send_command

        def read(task: Any) -> None:
            for command in SHOWS:
                r = task.run(send_command, command=command)
                assert r.scrapli_response.textfsm_parse_output(), command  # type: ignore[attr-defined]
            task.run(send_command, command=SECTION)

    t0 = time.perf_counter()
    result = nr.run(read)
    nr.close_connections()
    elapsed = time.perf_counter() - t0
    assert not result.failed, {h: r.exception for h, r in result.failed_hosts.items()}
    return elapsed


def reset(bed: IosSimBed, n: int) -> None:
    for i in range(n):
        bed.reset(f"r{i + 1}")


def measure(repeat: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(repeat))


def cpu_seconds() -> float:
    """CPU of this process and its reaped children (the --processes workers)."""
    me, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def pid_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scaling(bed: IosSimBed, n: int, inv: Path, kh: Path, repeat: int) -> None:
    cpus = os.cpu_count() or 1
    print(f"{n} simulated IOS routers, verify, {cpus} CPUs (median of {repeat})")
    print(f"{'workers':>7} {'processes':>9} {'wall s':>7} {'controller ms/router':>21}"
          f" {'cores':>5} {'simulator ms/router':>20}")  # fmt: skip
    for workers in (16, 32, 64):
        for processes in sorted({1, 2, cpus}):
            walls, ours, sims = [], [], []
            for _ in range(repeat):
                c0, s0 = cpu_seconds(), pid_cpu_seconds(bed.pid)
                t, rc, out = loopbackctl(inv, kh, "verify", "--format", "json", "--workers",
                                         str(workers), "--processes", str(processes))  # fmt: skip
                assert rc == 1 and out.count('"status": "drift"') == n, out[-500:]
                walls.append(t)
                ours.append(cpu_seconds() - c0)
                sims.append(pid_cpu_seconds(bed.pid) - s0)
            wall, cpu, sim = (statistics.median(x) for x in (walls, ours, sims))
            print(f"{workers:>7} {processes:>9} {wall:>7.2f} {cpu / n * 1000:>21.1f}"
                  f" {cpu / wall:>5.2f} {sim / n * 1000:>20.1f}")  # fmt: skip


def main_bench(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routers", type=int, default=None, help="default 50; 150 with --scaling")
    ap.add_argument("--workers", type=int, default=None, help="default: loopbackctl's")
    ap.add_argument("--repeat", type=int, default=None, help="median of this many runs")
    ap.add_argument("--scaling", action="store_true", help="workers x processes, CPU per router")
    args = ap.parse_args(argv)
    n = args.routers or (150 if args.scaling else 50)
    repeat = args.repeat or (3 if args.scaling else 1)
    os.environ["LOOPBACKCTL_PASSWORD"] = PASSWORD
    os.environ["LOOPBACKCTL_SECRET"] = SECRET
    workers = ["--workers", str(args.workers)] if args.workers else []
    specs = [
        DeviceSpec(f"r{i + 1}", password=PASSWORD, secret=SECRET, startup_config=startup(i))
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as tmp, IosSimBed(devices=specs) as bed:
        inv = write_inventory(bed, n, Path(tmp))
        ninv = nornir_inventory(bed, n, Path(tmp))
        kh = Path(tmp) / "known_hosts"
        kh.write_text("")
        if args.scaling:
            loopbackctl(inv, kh, "verify", "--format", "json")  # warm-up, known_hosts
            scaling(bed, n, inv, kh, repeat)
            return 0
        rows: list[tuple[str, float, float]] = []

        def lb_verify() -> float:
            t, rc, out = loopbackctl(inv, kh, "verify", "--format", "json", *workers)
            assert rc == 1 and out.count('"status": "drift"') == n, out[-500:]
            return t

        def lb_apply() -> float:
            reset(bed, n)
            t, rc, out = loopbackctl(inv, kh, "apply", "--format", "json", *workers)
            assert rc == 0 and out.count('"status": "changed"') == n, out[-2000:]
            return t

        def lb_converged() -> float:
            t, rc, out = loopbackctl(inv, kh, "apply", "--format", "json", *workers)
            assert rc == 0 and out.count('"status": "ok"') == n, out[-500:]
            return t

        def base_apply() -> float:
            reset(bed, n)
            t = serial_netmiko(bed, n, apply=True)
            assert all(bed.state(f"r{i + 1}")["save_count"] >= 1 for i in range(n))
            return t

        loopbackctl(inv, kh, "verify", "--format", "json", *workers)  # warm-up, known_hosts
        reset(bed, n)
        rows.append(
            (
                "verify",
                measure(repeat, lb_verify),
                measure(repeat, lambda: serial_netmiko(bed, n, apply=False)),
            )
        )
        rows.append(("apply", measure(repeat, lb_apply), measure(repeat, base_apply)))

        def lb_verify_serial() -> float:
            t, rc, out = loopbackctl(inv, kh, "verify", "--format", "json", "--workers", "1")
            assert rc == 1 and out.count('"status": "drift"') == n, out[-500:]
            return t

        reset(bed, n)
        rows.append(
            (
                "verify, 1 worker",
                measure(repeat, lb_verify_serial),
                measure(repeat, lambda: serial_netmiko(bed, n, apply=False)),
            )
        )
        lb_apply()
        rows.append(
            (
                "apply (converged)",
                measure(repeat, lb_converged),
                measure(repeat, lambda: serial_netmiko(bed, n, apply=False)),
            )
        )
        reset(bed, n)
        nornir_verify(ninv, "netmiko")  # warm-up: imports
        # Interleaved rounds: a load that comes and goes on a shared machine then falls
        # on every row alike.
        contenders: list[tuple[str, Callable[[], float]]] = [
            ("loopbackctl verify", lb_verify),
            ("nornir + nornir_netmiko", lambda: nornir_verify(ninv, "netmiko")),
            ("nornir + nornir_scrapli", lambda: nornir_verify(ninv, "scrapli")),
        ]
        times: dict[str, list[float]] = {name: [] for name, _ in contenders}
        for _ in range(max(repeat, 3)):
            for name, fn in contenders:
                times[name].append(fn())
        versus = [(name, statistics.median(ts)) for name, ts in times.items()]
        lb_apply()
        versus.append(("loopbackctl apply (converged)", measure(repeat, lb_converged)))

    from loopbackctl.fleet import DEFAULT_WORKERS, FleetOptions, processes
    from loopbackctl.model import Host
    from loopbackctl.runner import Job

    w = args.workers or DEFAULT_WORKERS
    p = processes(
        FleetOptions("verify"), [Job(Host(f"r{i}", "cisco_ios"), "verify") for i in range(n)], w
    )
    print(f"{n} simulated IOS routers, loopbackctl --workers {w} (default --processes: {p}),"
          f" {os.cpu_count()} CPUs")  # fmt: skip
    head = f"{'operation':<18} {'loopbackctl':>12} {'serial netmiko':>15} {'ratio':>7}"

    print(head)
    print("-" * len(head))
    for name, ours, base in rows:
        print(f"{name:<18} {ours:>11.2f}s {base:>14.2f}s {base / ours:>6.1f}x")
    print("ratio = serial netmiko time / loopbackctl time (higher is better for loopbackctl)")
    print()
    print(f"verify, the same reads; Nornir at {NORNIR_WORKERS} workers")
    fastest = min(t for name, t in versus if name.startswith("nornir"))
    head = f"{'run':<31} {'time':>8} {'vs faster Nornir':>17}"
    print(head)
    print("-" * len(head))
    for name, t in versus:
        print(f"{name:<31} {t:>7.2f}s {fastest / t:>16.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())

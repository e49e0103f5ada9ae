"""The process pool behind --processes, with a stand-in for the per-host pipeline (no
device): results in job order from every process, a process that dies, an interrupt.
The pool against real hosts is in tests/test_shard_fleet.py."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from loopbackctl import fleet, procs
from loopbackctl.model import Host
from loopbackctl.result import HostResult
from loopbackctl.runner import Job
from tests.threads import alone


def _jobs(n: int) -> list[Job]:
    return [Job(Host(f"h{i}", "linux"), "verify") for i in range(n)]


class Pipeline:
    """Knobs of the stand-in pipeline. With `meet` set to P, the first host each process
    runs waits until P processes have each started one: however slowly the machine forks,
    every process gets work."""

    def __init__(self) -> None:
        self.delay = 0.01
        self.kill_h3 = False
        self.meet: int | None = None
        self.barrier: Any = None
        self.started: set[int] = set()  # per process after the fork
        self.lock = threading.Lock()

    def arrive(self) -> None:
        with self.lock:
            first = os.getpid() not in self.started
            self.started.add(os.getpid())
        if first and self.barrier is not None:
            self.barrier.wait(30)


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """run_host → ok after `delay` s, with the pid that ran it in `error`; h3 kills its
    process when `kill_h3` is set; hosts after an interrupt are not contacted."""
    knobs = Pipeline()

    def fake(job: Job, cancel: threading.Event | None = None) -> HostResult:
        name = job.host.name
        if cancel is not None and cancel.is_set():
            return HostResult(name, "linux", "failed", error="not contacted: interrupted")
        if name == "h3" and knobs.kill_h3:
            os.kill(os.getpid(), signal.SIGKILL)
        knobs.arrive()
        time.sleep(knobs.delay)
        return HostResult(name, "linux", "ok", error=str(os.getpid()))

    monkeypatch.setattr(procs, "run_host", fake)
    yield knobs


def _meet(knobs: Pipeline, processes: int) -> None:
    knobs.barrier = multiprocessing.get_context("fork").Barrier(processes)


def test_shares_spread_workers_over_processes() -> None:
    assert procs.shares(16, 2) == [8, 8]
    assert procs.shares(10, 3) == [4, 3, 3]
    assert procs.shares(2, 4) == [1, 1]  # never a process without a thread
    assert sum(procs.shares(97, 8)) == 97


def test_results_come_back_in_job_order_from_every_process(pipeline: Pipeline) -> None:
    _meet(pipeline, 3)
    jobs = _jobs(40)
    seen: list[str] = []
    cancel = threading.Event()
    results = procs.Pool(jobs, 3, 6, cancel).wait(lambda r: seen.append(r.name))
    assert [r.name for r in results] == [j.host.name for j in jobs]
    assert sorted(seen) == sorted(r.name for r in results)
    assert {r.status for r in results} == {"ok"}
    pids = {r.error for r in results}
    assert len(pids) == 3 and str(os.getpid()) not in pids  # forked, all three worked


def test_a_process_that_dies_fails_its_host_in_flight_and_the_others_finish(
    pipeline: Pipeline,
) -> None:
    pipeline.kill_h3 = True
    pipeline.delay = 0.05
    results = procs.Pool(_jobs(12), 2, 2, threading.Event()).wait()
    by_name = {r.name: r for r in results}
    assert by_name["h3"].status == "failed"
    assert "worker process running this host ended (killed by SIGKILL)" in (
        by_name["h3"].error or ""
    )
    assert "run verify" in (by_name["h3"].error or "")
    # The surviving process took every other host, whether it was before or after h3.
    assert [r.name for r in results if r.status == "ok"] == [f"h{i}" for i in range(12) if i != 3]


def test_an_interrupt_stops_new_hosts_in_every_process(pipeline: Pipeline) -> None:
    pipeline.delay = 0.1
    cancel = threading.Event()
    jobs = _jobs(60)
    seen: list[str] = []

    def interrupt_after_four(r: HostResult) -> None:
        seen.append(r.name)
        if len(seen) == 4:
            cancel.set()  # as Ctrl-C does in the parent; the pool passes it on

    results = procs.Pool(jobs, 2, 4, cancel).wait(interrupt_after_four)
    statuses = [r.status for r in results]
    done = statuses.count("ok")
    assert 4 <= done <= 4 + 4 + 4, statuses  # at most each thread's host in flight, twice
    # Hosts are claimed in order; those claimed before the interrupt finished.
    assert statuses == ["ok"] * done + ["failed"] * (60 - done)
    assert {r.error for r in results if r.status != "ok"} == {"not contacted: interrupted"}


def _routers(n: int, platform: str = "cisco_ios") -> list[Job]:
    return [Job(Host(f"r{i}", platform), "verify") for i in range(n)]


CORES = len(os.sched_getaffinity(0))


def test_by_default_runs_of_several_ios_routers_take_one_process_per_core() -> None:
    auto = fleet.FleetOptions("verify")
    alone()  # (with other threads it never forks: below)
    assert fleet.processes(auto, _routers(2 * fleet.HEAVY_PER_PROCESS - 1), 16) == 1
    assert fleet.processes(auto, _routers(2 * fleet.HEAVY_PER_PROCESS), 16) == min(CORES, 2)
    assert fleet.processes(auto, _routers(8, "cisco_xe"), 16) == min(CORES, 2)
    assert fleet.processes(auto, _routers(400), 16) == min(CORES, 16)
    assert fleet.processes(auto, _routers(400), 1) == 1  # never more processes than workers
    # Linux hosts' sessions are light: they count for nothing.
    assert fleet.processes(auto, _jobs(400), 16) == 1
    assert fleet.processes(auto, _jobs(100) + _routers(7), 16) == 1
    assert fleet.processes(fleet.FleetOptions("verify", processes=3), _jobs(5), 16) == 3


def test_by_default_a_process_with_other_threads_does_not_fork() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert fleet.processes(fleet.FleetOptions("verify"), _routers(400), 16) == 1
        asked = fleet.FleetOptions("verify", processes=2)
        assert fleet.processes(asked, _routers(400), 16) == 2  # asked for: as asked
    finally:
        stop.set()
        other.join()


def test_a_fleet_of_linux_hosts_runs_in_processes_only_when_asked(pipeline: Pipeline) -> None:
    _meet(pipeline, 2)
    one = fleet.start(_jobs(5), fleet.FleetOptions("verify"))
    assert one.pool is None
    two = fleet.start(_jobs(5), fleet.FleetOptions("verify", processes=2, workers=4))
    assert two.pool is not None
    results = two.wait()
    assert [r.name for r in results] == [f"h{i}" for i in range(5)]
    assert len({r.error for r in results}) == 2
    assert fleet.start(_jobs(1), fleet.FleetOptions("verify", processes=4)).pool is None


def test_fd_cap() -> None:
    assert fleet.fd_cap(None) is None
    assert fleet.fd_cap(fleet.FDS_RESERVED + 10 * fleet.FDS_PER_WORKER) == 10
    assert fleet.fd_cap(fleet.FDS_RESERVED + 10 * fleet.FDS_PER_WORKER, 3) == 30
    assert fleet.fd_cap(5) == 1  # one at a time rather than none

"""The fleet's process pool (`--processes P`): P forked processes, each running its share
of the worker threads.

The threads of one process share one GIL. Where the controller's own CPU per host (SSH
crypto, TextFSM parsing) is what limits a run, P processes use P cores. The processes
claim hosts one at a time from a shared counter, so a slow host holds back nobody, and
send each HostResult to the parent as it completes; the parent puts them back in job
order, so the run reports exactly as one process would.

Fork, not spawn: the children inherit the parsed inventory and the rendered jobs and start
in milliseconds. `Pool` forks in its constructor: create it before this process starts
any thread (a progress bar's refresh thread), and flush output first.

Ctrl-C, and SIGHUP when the terminal closes, reach every process of the terminal's group;
SIGTERM (or SIGHUP) sent to the parent alone is passed on to the children. Any of them
stops each process claiming new hosts, hosts in flight finish or roll back, and the parent
reports the rest as not contacted; a second one changes nothing in a child (the parent
lists the hosts still in flight: each child says when it starts a host). A child that
dies leaves its hosts in flight as failed, with the reason; the others carry on. A parent
killed outright (SIGKILL, the OOM killer) takes its children with it, as one process
would go: nobody would report what an orphan went on to change, and each device is left
to its confirm-or-revert timer.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkProcess
from multiprocessing.sharedctypes import Synchronized
from types import FrameType

from loopbackctl.flight import STOP_SIGNALS, InFlight
from loopbackctl.result import HostResult
from loopbackctl.runner import Job, run_host


def shares(workers: int, processes: int) -> list[int]:
    """`workers` threads spread over `processes` (each at least one thread)."""
    processes = max(1, min(processes, workers))
    return [workers // processes + (1 if p < workers % processes else 0) for p in range(processes)]


# <linux/prctl.h>
PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """SIGKILL this process when the thread that forked it ends (the parent's main thread:
    `Pool` forks before any other starts); exit at once if `parent` is already gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


def _child(
    parent: int,
    jobs: Sequence[Job],
    threads: int,
    counter: Synchronized[int],
    conn: Connection,
    cancel: threading.Event,
    setup: Callable[[], None] | None,
) -> None:
    _die_with(parent)

    def stop(signum: int, frame: FrameType | None) -> None:
        cancel.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    if setup is not None:
        setup()
    lock = threading.Lock()

    def claim() -> int | None:
        if cancel.is_set():
            return None
        with counter.get_lock():
            i = int(counter.value)
            if i >= len(jobs):
                return None
            counter.value = i + 1
            return i

    def send(i: int, r: HostResult | None) -> None:
        try:
            with lock:
                conn.send((i, r))
        except OSError:  # the parent is gone: nobody will read another result
            cancel.set()

    def work() -> None:
        while (i := claim()) is not None:
            send(i, None)  # in flight
            send(i, run_host(jobs[i], cancel))

    pool = [threading.Thread(target=work, name=f"loopbackctl-{n}") for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    conn.close()


def _gone(proc: ForkProcess) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class Pool:
    """`jobs` over `processes` processes with `workers` threads in all. The processes
    start now, each calling `setup` first; `wait` collects the results, following the
    hosts in flight in `flight`."""

    def __init__(
        self,
        jobs: Sequence[Job],
        processes: int,
        workers: int,
        cancel: threading.Event,
        setup: Callable[[], None] | None = None,
        flight: InFlight | None = None,
    ) -> None:
        self.jobs, self.cancel = jobs, cancel
        self.flight = flight or InFlight()
        ctx = multiprocessing.get_context("fork")
        self._counter: Synchronized[int] = ctx.Value("q", 0)
        self._children: dict[Connection, ForkProcess] = {}
        for out in (sys.stdout, sys.stderr):  # a child must not write the parent's buffer
            with contextlib.suppress(Exception):
                out.flush()
        for threads in shares(workers, processes):
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_child,
                args=(os.getpid(), jobs, threads, self._counter, send, cancel, setup),
                daemon=True,
            )
            proc.start()
            send.close()
            self._children[recv] = proc

    def _stop_children(self) -> None:
        for proc in self._children.values():
            if proc.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)

    def wait(self, on_result: Callable[[HostResult], None] | None = None) -> list[HostResult]:
        """Every job's result, in job order, once every process has ended."""
        results: dict[int, HostResult] = {}
        live = dict(self._children)
        started: dict[Connection, set[int]] = {conn: set() for conn in live}
        ended: list[str] = []
        passed_on = False
        while live:
            if self.cancel.is_set() and not passed_on:
                self._stop_children()
                passed_on = True
            for conn in wait(list(live), timeout=0.2):
                assert isinstance(conn, Connection)
                try:
                    i, r = conn.recv()
                except (EOFError, OSError):
                    for i in started.pop(conn):
                        self.flight.end(i)
                    proc = live.pop(conn)
                    proc.join()
                    conn.close()
                    if proc.exitcode != 0:
                        ended.append(_gone(proc))
                    continue
                if r is None:
                    started[conn].add(i)
                    self.flight.start(i, self.jobs[i].host.name)
                    continue
                started[conn].discard(i)
                self.flight.end(i)
                results[i] = r
                if on_result is not None:
                    on_result(r)
        claimed = int(self._counter.value)
        for i, job in enumerate(self.jobs):
            if i in results:
                continue
            r = self._lost(job, i < claimed, ended)
            results[i] = r
            if on_result is not None:
                on_result(r)
        return [results[i] for i in range(len(self.jobs))]

    def _lost(self, job: Job, claimed: bool, ended: list[str]) -> HostResult:
        why = "; ".join(ended) or "no result"
        if claimed:
            return HostResult(
                name=job.host.name,
                platform=job.host.platform,
                status="failed",
                error=(
                    f"the worker process running this host ended ({why}) before it"
                    " reported: the host may be half-applied; run verify"
                ),
            )
        if self.cancel.is_set():
            return run_host(job, self.cancel)  # "not contacted: interrupted ..."
        return HostResult(
            name=job.host.name,
            platform=job.host.platform,
            status="failed",
            error=f"not contacted: the worker processes ended early ({why})",
        )

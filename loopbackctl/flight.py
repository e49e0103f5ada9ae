"""Which hosts are in flight: started and not yet reported (what a second Ctrl-C lists)."""

from __future__ import annotations

import signal
import threading

# What a terminal or a supervisor sends to stop a run: each stops it the same way (hosts in
# flight finish or roll back, no new host starts, exit 130).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class InFlight:
    """Thread-safe: jobs (by their index in the run) between `start` and `end`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[int, str] = {}

    def start(self, i: int, name: str) -> None:
        with self._lock:
            self._names[i] = name

    def end(self, i: int) -> None:
        with self._lock:
            self._names.pop(i, None)

    def names(self) -> list[str]:
        """The hosts in flight now, in job order."""
        with self._lock:
            return [self._names[i] for i in sorted(self._names)]

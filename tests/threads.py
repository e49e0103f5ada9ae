"""Waiting for the threads a finished SSH session leaves behind (paramiko's transport
threads end a moment after the session is closed)."""

from __future__ import annotations

import threading
import time


def alone(timeout: float = 10.0) -> None:
    """Return once the calling thread is the process's only thread (a default fleet run
    forks only then); AssertionError naming the others after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me:
            t.join(max(0.0, deadline - time.monotonic()))
    others = [t.name for t in threading.enumerate() if t is not me]
    assert not others, f"threads still running after {timeout:g}s: {others}"

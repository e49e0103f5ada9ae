"""The process's open-files limit (RLIMIT_NOFILE): raised at start, and the descriptor
budget that caps how many hosts a fleet run works on at once.

Each worker holds an SSH socket and, for a moment, a child process's pipes (ping, `ip
route get`) or a reconnect's second socket; a run that opened more than the soft limit
allows would fail hosts with "Too many open files".
"""

from __future__ import annotations

import os


def raise_nofile() -> None:
    """Soft RLIMIT_NOFILE := hard (what any process may do for itself); never fails."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return
        # macOS reports an infinite hard limit but refuses more than OPEN_MAX (10240).
        target = max(soft, 10240) if hard == resource.RLIM_INFINITY else hard
        if soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ImportError, ValueError, OSError):
        pass


def nofile_limit() -> int | None:
    """The soft RLIMIT_NOFILE; None when unlimited or unknown."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, ValueError, OSError):
        return None
    return None if soft == resource.RLIM_INFINITY else int(soft)


def open_descriptors() -> int:
    """How many descriptors this process holds now (0 when the system cannot say)."""
    for path in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(path))
        except OSError:
            continue
    return 0

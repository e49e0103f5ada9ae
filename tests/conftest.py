"""Shared pytest set-up. Bed fixtures live in their own modules under tests/."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

pytest_plugins = ["tests.bed.fixtures", "tests.localns"]

ROOT = Path(__file__).resolve().parent.parent

# The one place the suite says where this machine may ping (verify --reachability): the
# loopback ranges and the ranges the beds' namespaces use, never anything else. A test
# that must ping less passes a narrower --ping-allow for one run.
TEST_PING_ALLOW = "127.0.0.0/8,::1/128,198.18.0.0/15,2001:db8::/32"
os.environ["LOOPBACKCTL_PING_ALLOW"] = TEST_PING_ALLOW


# apply's lock directory for IOS routers (loopbackctl.locks): one of the suite's own, so
# no test leaves /run/lock/loopbackctl behind on this machine.
if "LOOPBACKCTL_LOCK_DIR" not in os.environ:
    _LOCK_DIR = tempfile.mkdtemp(prefix="loopbackctl-test-locks-")
    os.environ["LOOPBACKCTL_LOCK_DIR"] = _LOCK_DIR
    atexit.register(shutil.rmtree, _LOCK_DIR, True)


# A safety net under the allow-list: while the suite runs, the test ranges are
# unreachable from this machine except through the more specific routes the beds add, so
# a test pinging an address no bed holds cannot send it out of the default route.
NET_GUARDS = (("-4", "198.18.0.0/15"), ("-6", "2001:db8::/32"))


@pytest.fixture(scope="session", autouse=True)
def test_ranges_stay_on_this_machine() -> Iterator[None]:
    ip = shutil.which("ip") or "/usr/sbin/ip"
    added = []
    if os.geteuid() == 0:
        for family, net in NET_GUARDS:
            shown = subprocess.run(
                [ip, family, "route", "show", "exact", net], capture_output=True, text=True
            ).stdout
            if not shown.strip():  # another run's guard, or the machine's own: keep it
                subprocess.run([ip, family, "route", "add", "unreachable", net], check=True)
                added.append((family, net))
    try:
        yield
    finally:
        for family, net in added:
            subprocess.run([ip, family, "route", "del", "unreachable", net], check=False)


def _sigterm(signum: int, frame: FrameType | None) -> None:
    # CI or a person stopping the run: unwind through fixture teardown so namespaces,
    # links and processes started by the tests are removed.
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _sigterm)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

"""Shared pytest set-up. Bed fixtures live in their own modules under tests/."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

pytest_plugins = ["tests.bed.fixtures", "tests.localns"]

ROOT = Path(__file__).resolve().parent.parent

# The one place the suite says where this machine may ping (verify --reachability): the
# loopback ranges and the ranges the beds' namespaces use, never anything else. A test
# that must ping less passes a narrower --ping-allow for one run.
TEST_PING_ALLOW = "127.0.0.0/8,::1/128,198.18.0.0/15,2001:db8::/32"
os.environ["LOOPBACKCTL_PING_ALLOW"] = TEST_PING_ALLOW


def _sigterm(signum: int, frame: FrameType | None) -> None:
    # CI or a person stopping the run: unwind through fixture teardown so namespaces,
    # links and processes started by the tests are removed.
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _sigterm)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
